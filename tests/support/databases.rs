//! Databases for the SQL suites: a fresh PostgreSQL database per test on the server
//! `scripts/test` starts (`SAML_SP_TEST_DATABASE_URL`), and fresh SQLite files.

/// A fresh PostgreSQL database for one test, or `None` (skipped) without a server; a missing
/// server fails the run when `SAML_SP_REQUIRE_ORACLES` is set.
pub async fn pg_database(name: &str) -> Option<String> {
    let Ok(base) = std::env::var("SAML_SP_TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("SAML_SP_REQUIRE_ORACLES").is_none(),
            "SAML_SP_TEST_DATABASE_URL is required (scripts/test starts PostgreSQL)"
        );
        eprintln!("SKIPPED: no PostgreSQL (run scripts/test)");
        return None;
    };
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    let db = format!("t_{name}_{}", random());
    sqlx::raw_sql(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (prefix, _) = base.rsplit_once('/').unwrap();
    Some(format!("{prefix}/{db}"))
}

/// A path for a new SQLite file.
pub fn sqlite_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("saml-sp-{name}-{}.db", random()))
}

fn random() -> u32 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    u32::from_le_bytes(b)
}
