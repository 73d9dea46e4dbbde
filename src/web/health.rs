//! The operator's health endpoint: [`super::SamlWeb::health`] gathers an
//! [`crate::ops::HealthReport`] (tenants, certificates, metadata feeds, the request store) and
//! answers it as JSON, `200` when healthy and `503` when a store is unreachable or a tenant
//! failed to load. It names tenants and fingerprints: mount it where only operators reach it.

use http::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::ops::HealthReport;

fn instant(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(crate::time::format_instant(t))
    })
}

/// The report as JSON.
pub(crate) fn to_json(report: &HealthReport) -> Value {
    json!({
        "healthy": report.is_healthy(),
        "at": crate::time::format_instant(report.at),
        "tenants": report.tenants.iter().map(|t| json!({
            "tenant": t.tenant,
            "state": t.state.as_str(),
            "error_code": t.error_code,
            "certificates": t.certificates,
            "certificate_not_after": instant(t.certificate_not_after),
            "certificate_days_left": t.certificate_days_left,
            "metadata": t.metadata.as_ref().map(|m| json!({
                "last_success": instant(m.last_success),
                "age_seconds": m.age_seconds,
                "last_error": m.last_error.as_ref().map(|(code, message)| json!({"code": code, "message": message})),
                "valid_until": instant(m.valid_until),
            })),
        })).collect::<Vec<_>>(),
        "stores": report.stores.iter().map(|s| json!({
            "name": s.name, "reachable": s.reachable, "error": s.error,
        })).collect::<Vec<_>>(),
    })
}

/// The HTTP answer for `report`.
pub(crate) fn response(report: &HealthReport) -> Response<String> {
    let status = if report.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut r = Response::new(to_json(report).to_string());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    r
}
