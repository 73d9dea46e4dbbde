//! What validation checked: every check with what was expected and what was found, for
//! troubleshooting (`saml-sp verify` prints it).

use crate::error::Error;

/// The outcome of one check, for troubleshooting reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckResult {
    /// The check passed.
    Passed,
    /// The check failed (validation stopped here).
    Failed,
    /// The check did not apply.
    Skipped,
}

impl CheckResult {
    /// `passed`, `failed` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckResult::Passed => "passed",
            CheckResult::Failed => "failed",
            CheckResult::Skipped => "skipped",
        }
    }
}

/// One check made while validating, with what was expected and found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// Name of the check (`signature`, `issuer`, `audience`, ...).
    pub check: &'static str,
    /// Its outcome.
    pub result: CheckResult,
    /// What the configuration expects.
    pub expected: String,
    /// What the message has.
    pub found: String,
    /// For a failed check, the error's full operator message (empty otherwise).
    pub detail: String,
}

/// Checks made during one validation, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    pub(crate) fn add(
        &mut self,
        check: &'static str,
        result: CheckResult,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        self.checks.push(Check {
            check,
            result,
            expected: expected.into(),
            found: found.into(),
            detail: String::new(),
        });
    }
    pub(crate) fn pass(
        &mut self,
        check: &'static str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        self.add(check, CheckResult::Passed, expected, found);
    }
    pub(crate) fn skip(&mut self, check: &'static str, why: impl Into<String>) {
        self.add(check, CheckResult::Skipped, "", why);
    }
    /// Records `err` as the failure of `check`, with what was expected and found
    /// ([`Error::expected_found`]) and its message, and returns it.
    pub(crate) fn fail(&mut self, check: &'static str, err: Error) -> Error {
        let (expected, found) = err.expected_found();
        self.checks.push(Check {
            check,
            result: CheckResult::Failed,
            expected,
            found,
            detail: err.to_string(),
        });
        err
    }
}
