//! Audit events: one per login attempt and one per logout, success or failure, emitted as a
//! structured `tracing` event under the target `saml_sp::login` and, optionally, handed to an
//! [`AuditSink`].
//! Events never carry assertion XML or secrets, and the log line never carries the NameID (it
//! is personal data; the [`AuditSink`] gets it, for the app's own records).

/// Client-supplied context the app attaches to audit events (IP address, user agent, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditContext {
    /// Key/value pairs, e.g. `("ip", "203.0.113.7")`.
    pub fields: Vec<(String, String)>,
}

impl AuditContext {
    /// An empty context.
    pub fn new() -> Self {
        AuditContext::default()
    }
    /// Adds a field.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }
}

/// The outcome of a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The user was signed in.
    Success,
    /// The login was refused.
    Failure,
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// A login (the ACS).
    Login,
    /// An SP-initiated logout: the LogoutRequest sent ([`super::Acs::start_logout`]).
    LogoutStarted,
    /// An SP-initiated logout: the IdP's LogoutResponse ([`super::Acs::finish_logout`]).
    LogoutFinished,
    /// An IdP-initiated logout ([`super::Acs::handle_logout_request`]).
    LogoutRequested,
}

impl Action {
    /// A stable name: `login`, `logout_started`, `logout_finished`, `logout_requested`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LogoutStarted => "logout_started",
            Action::LogoutFinished => "logout_finished",
            Action::LogoutRequested => "logout_requested",
        }
    }
}

/// One login attempt or logout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// What happened.
    pub action: Action,
    /// The tenant slug.
    pub tenant: Option<String>,
    /// The IdP entity ID (the configured one for the tenant).
    pub issuer: Option<String>,
    /// Success or failure.
    pub outcome: Outcome,
    /// The error code on failure.
    pub error_code: Option<&'static str>,
    /// The operator detail on failure: what was expected and what was found (the error's
    /// message; never assertion XML). For the log and the operator, not for the person signing in.
    pub error_detail: Option<String>,
    /// The NameID on success.
    pub name_id: Option<String>,
    /// The request ID the response answered (for logouts: the LogoutRequest's), when known.
    pub request_id: Option<String>,
    /// The assertion ID, when validation got that far (logouts: none).
    pub assertion_id: Option<String>,
    /// The app's context.
    pub context: AuditContext,
}

/// Receives every audit event (for apps that keep them in their own store).
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    /// Records one event. Must not block for long: it runs on the login path.
    fn record(&self, event: &AuditEvent);
}

pub(crate) fn emit(event: &AuditEvent, sink: Option<&dyn AuditSink>) {
    let context = event
        .context
        .fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let outcome = match event.outcome {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
    };
    let action = event.action.as_str();
    match event.outcome {
        Outcome::Success => tracing::info!(
            target: "saml_sp::login",
            action,
            tenant = event.tenant.as_deref().unwrap_or(""),
            issuer = event.issuer.as_deref().unwrap_or(""),
            outcome,
            error_code = "",
            request_id = event.request_id.as_deref().unwrap_or(""),
            assertion_id = event.assertion_id.as_deref().unwrap_or(""),
            context = context.as_str(),
            "saml {action} {outcome}"
        ),
        // A refusal is logged at WARN with its operator detail (expected and found).
        Outcome::Failure => tracing::warn!(
            target: "saml_sp::login",
            action,
            tenant = event.tenant.as_deref().unwrap_or(""),
            issuer = event.issuer.as_deref().unwrap_or(""),
            outcome,
            error_code = event.error_code.unwrap_or(""),
            error_detail = event.error_detail.as_deref().unwrap_or(""),
            request_id = event.request_id.as_deref().unwrap_or(""),
            assertion_id = event.assertion_id.as_deref().unwrap_or(""),
            context = context.as_str(),
            "saml {action} {outcome}: {}",
            event.error_detail.as_deref().unwrap_or("")
        ),
    }
    let tenant = crate::telemetry::tenant_label(event.tenant.as_deref(), event.issuer.is_some());
    let code = event.error_code.unwrap_or("");
    match event.action {
        Action::Login => crate::telemetry::login(tenant, outcome, code),
        other => crate::telemetry::logout(tenant, other.as_str(), outcome, code),
    }
    if let Some(s) = sink {
        s.record(event);
    }
}

impl AuditEvent {
    pub(crate) fn new(action: Action, tenant: &str, context: &AuditContext) -> Self {
        AuditEvent {
            action,
            tenant: Some(tenant.to_owned()),
            issuer: None,
            outcome: Outcome::Failure,
            error_code: None,
            name_id: None,
            request_id: None,
            assertion_id: None,
            error_detail: None,
            context: context.clone(),
        }
    }
}
