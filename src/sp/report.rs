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

/// Every check name a [`Report`] records (a stored report's names are read back through this
/// list, so an unknown one becomes `other`).
pub(crate) const CHECK_NAMES: &[&str] = &[
    "assertion",
    "assertion_certificate",
    "assertion_issuer",
    "assertion_signature",
    "attributes",
    "audience",
    "authn_context",
    "authn_statement",
    "bearer_confirmation",
    "binding",
    "conditions",
    "conditions_time",
    "decryption",
    "destination",
    "identity",
    "idp_metadata",
    "in_response_to",
    "issue_instant",
    "name_id",
    "recipient",
    "response_certificate",
    "response_issuer",
    "response_signature",
    "signature_policy",
    "status",
    "structure",
    "subject",
    "subject_confirmation_time",
    "xml",
];

/// The crate's own name for a stored check name (`other` for one it does not record).
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) fn check_name(name: &str) -> &'static str {
    CHECK_NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or("other")
}

impl Report {
    pub(crate) fn add(
        &mut self,
        check: &'static str,
        result: CheckResult,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        debug_assert!(CHECK_NAMES.contains(&check), "unlisted check {check}");
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
        debug_assert!(CHECK_NAMES.contains(&check), "unlisted check {check}");
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
