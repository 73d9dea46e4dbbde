//! An HTTP load generator for the demo apps: complete SP-initiated logins through the built-in
//! test IdP, over real HTTP, from many concurrent clients. Reports logins per second, the latency
//! of the ACS POST (p50, p99, max), errors, and (with `--pid`) the app's resident memory sampled
//! through the run.
//!
//! ```text
//! cargo run --release --example axum_sp &                      # demo mode: the test IdP
//! cargo run --release --features fetch --example loadgen -- http://127.0.0.1:8080 64 600 $(pgrep -n axum_sp)
//! ```
//!
//! Arguments: base URL, concurrent clients (64), seconds (60), the app's PID (optional; Linux).
//! Each login: `GET /saml/login` -> the test IdP's page -> `POST /test-idp/login` -> `POST
//! /saml/acs` (timed) -> `GET /` must show the user. Users cycle through 1,000 emails, so the app's
//! user table reaches its steady size at once and memory growth shows only what the SAML stores
//! keep.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The value of `<input ... name="{name}" value="...">` in a test IdP page, HTML-unescaped.
fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = html.get(at + name.len() + 15..)?;
    let v = rest.get(..rest.find('"')?)?;
    Some(
        v.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|s| {
            let name = s.get(..s.find('"')?)?;
            Some((name.to_owned(), field(html, name)?))
        })
        .collect()
}

fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// One complete login; returns the ACS latency.
async fn login(
    http: &reqwest::Client,
    base: &str,
    user: u64,
) -> Result<Duration, Box<dyn std::error::Error + Send + Sync>> {
    let start = http.get(format!("{base}/saml/login")).send().await?;
    let to_idp = start
        .headers()
        .get("location")
        .ok_or("no redirect to the IdP")?
        .to_str()?
        .to_owned();
    let idp_page = http.get(to_idp).send().await?.text().await?;
    let mut form = hidden_fields(&idp_page);
    form.push(("email".into(), format!("user{user}@load.example")));
    form.push(("first_name".into(), "Load".into()));
    form.push(("last_name".into(), format!("User {user}")));
    form.push(("groups".into(), "load, test".into()));
    let posted = http
        .post(format!("{base}/test-idp/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&form))
        .send()
        .await?
        .text()
        .await?;
    let acs_form = encode(&[
        (
            "SAMLResponse".to_owned(),
            field(&posted, "SAMLResponse").ok_or("no SAMLResponse")?,
        ),
        (
            "RelayState".to_owned(),
            field(&posted, "RelayState").ok_or("no RelayState")?,
        ),
    ]);
    let t = Instant::now();
    let acs = http
        .post(format!("{base}/saml/acs"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(acs_form)
        .send()
        .await?;
    let took = t.elapsed();
    if acs.status().as_u16() != 303 {
        return Err(format!("ACS answered {}", acs.status()).into());
    }
    let cookie = acs
        .headers()
        .get("set-cookie")
        .ok_or("no session cookie")?
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let home = http
        .get(format!("{base}/"))
        .header("cookie", cookie)
        .send()
        .await?
        .text()
        .await?;
    if !home.contains(&format!("user{user}@load.example")) {
        return Err("the home page does not show the user".into());
    }
    Ok(took)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(60);
    let pid: Option<u32> = args.get(3).and_then(|a| a.parse().ok());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(clients)
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let next_user = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let began = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (http, base, stop, next_user, errors) = (
            http.clone(),
            base.clone(),
            stop.clone(),
            next_user.clone(),
            errors.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let user = next_user.fetch_add(1, Ordering::Relaxed) % 1000;
                match login(&http, &base, user).await {
                    Ok(d) => latencies.push(d),
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("error: {e}");
                        }
                    }
                }
            }
            latencies
        }));
    }
    let mut samples = Vec::new();
    let every = Duration::from_secs((seconds / 10).max(1));
    while began.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(every.min(Duration::from_secs(seconds).saturating_sub(began.elapsed())))
            .await;
        if let Some(kib) = pid.and_then(rss_kib) {
            samples.push((began.elapsed().as_secs(), kib));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await?);
    }
    let elapsed = began.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "{} logins in {elapsed:.0} s with {clients} clients: {:.0} logins/s; /saml/acs p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; errors {}",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        errors.load(Ordering::Relaxed)
    );
    if !samples.is_empty() {
        let line: Vec<String> = samples
            .iter()
            .map(|(t, k)| format!("{t}s {} MiB", k / 1024))
            .collect();
        println!("RSS: {}", line.join(", "));
    }
    if errors.load(Ordering::Relaxed) > 0 {
        return Err("errors during the load run".into());
    }
    Ok(())
}
