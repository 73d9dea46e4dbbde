//! The SSRF guard for metadata URLs: which URLs and which resolved addresses a metadata fetch may
//! reach. Pure rules (no I/O), applied by [`super::fetch::MetadataClient`] to the configured URL,
//! to every address DNS returns for it, and again to every redirect.
//!
//! A metadata URL is configuration typed in by a tenant's administrator (a customer), so it is
//! untrusted input to the server that fetches it: without this guard it reaches the cloud
//! metadata service (`169.254.169.254`), the app's own admin ports on loopback, and the private
//! network behind the app.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What the guard allows. Strict by default: https only, public unicast addresses only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct GuardRules {
    pub(crate) allow_http: bool,
    pub(crate) allow_loopback: bool,
    pub(crate) allow_private: bool,
}

impl GuardRules {
    /// Why `ip` may not be reached, or `None` when it may.
    pub(crate) fn refuse_address(&self, ip: IpAddr) -> Option<&'static str> {
        let class = classify(ip);
        match class {
            AddressClass::Public => None,
            AddressClass::Loopback if self.allow_loopback => None,
            AddressClass::Private | AddressClass::LinkLocal if self.allow_private => None,
            AddressClass::Loopback => Some("a loopback address"),
            AddressClass::Private => Some("a private-network address"),
            AddressClass::LinkLocal => {
                Some("a link-local address (cloud metadata services live here)")
            }
            AddressClass::Special => Some(
                "a special-purpose address (unspecified, multicast, broadcast, reserved or documentation)",
            ),
        }
    }

    /// Why the URL's scheme may not be used, or `None`.
    pub(crate) fn refuse_scheme(&self, scheme: &str) -> Option<&'static str> {
        match scheme {
            "https" => None,
            "http" if self.allow_http => None,
            "http" => Some("expected https, found http"),
            _ => Some("expected https"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddressClass {
    Public,
    Loopback,
    Private,
    LinkLocal,
    Special,
}

fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if a == 127 {
        AddressClass::Loopback
    } else if a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168) {
        AddressClass::Private
    } else if a == 100 && (64..128).contains(&b) {
        // Carrier-grade NAT (RFC 6598): inside a provider's network.
        AddressClass::Private
    } else if a == 169 && b == 254 {
        AddressClass::LinkLocal
    } else if a == 0
        || a >= 224
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        AddressClass::Special
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return AddressClass::Special;
    }
    // Addresses that carry an IPv4 address are judged by it: IPv4-mapped (::ffff:a.b.c.d),
    // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    let [s0, s1, s2, s3, s4, s5, s6, s7] = s;
    if s0 == 0 && s1 == 0 && s2 == 0 && s3 == 0 && s4 == 0 && s5 == 0 {
        return classify_v4(embedded(s6, s7));
    }
    if s0 == 0x64 && s1 == 0xff9b && s2 == 0 && s3 == 0 && s4 == 0 && s5 == 0 {
        return classify_v4(embedded(s6, s7));
    }
    if s0 == 0x2002 {
        return classify_v4(embedded(s1, s2));
    }
    if s0 & 0xfe00 == 0xfc00 {
        // Unique local (fc00::/7).
        return AddressClass::Private;
    }
    if s0 & 0xffc0 == 0xfe80 || s0 & 0xffc0 == 0xfec0 {
        // Link-local (fe80::/10) and the deprecated site-local (fec0::/10).
        return AddressClass::LinkLocal;
    }
    if s0 == 0x2001 && s1 == 0x0db8 {
        return AddressClass::Special;
    }
    AddressClass::Public
}

fn embedded(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(rules: GuardRules, ip: &str) -> bool {
        rules
            .refuse_address(ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
            .is_some()
    }

    #[test]
    fn strict_rules_refuse_every_internal_range() {
        let strict = GuardRules::default();
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.10",
            "100.64.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.5",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
        ] {
            assert!(refused(strict, ip), "{ip} must be refused");
        }
        for ip in [
            "93.184.215.14",
            "172.32.0.1",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(strict, ip), "{ip} is public");
        }
    }

    #[test]
    fn relaxations_open_only_their_own_range() {
        let loopback = GuardRules {
            allow_loopback: true,
            ..GuardRules::default()
        };
        assert!(!refused(loopback, "127.0.0.1"));
        assert!(!refused(loopback, "::1"));
        assert!(refused(loopback, "169.254.169.254"));
        assert!(refused(loopback, "10.0.0.1"));
        let private = GuardRules {
            allow_private: true,
            ..GuardRules::default()
        };
        assert!(!refused(private, "10.0.0.1"));
        assert!(!refused(private, "169.254.169.254"));
        assert!(refused(private, "127.0.0.1"));
        assert!(refused(private, "0.0.0.0"));
    }

    #[test]
    fn schemes() {
        let strict = GuardRules::default();
        assert_eq!(strict.refuse_scheme("https"), None);
        assert!(strict.refuse_scheme("http").is_some());
        assert!(strict.refuse_scheme("file").is_some());
        let http = GuardRules {
            allow_http: true,
            ..GuardRules::default()
        };
        assert_eq!(http.refuse_scheme("http"), None);
        assert!(http.refuse_scheme("ftp").is_some());
    }
}
