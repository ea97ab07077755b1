//! Egress control for event receivers: Roster POSTs to URLs that tenants' operators give it, so
//! without a check a receiver URL could make Roster call into its own network (a database
//! admin page on 10.0.0.5, the cloud metadata service on 169.254.169.254, a port on localhost).
//!
//! Unless `ROSTER_WEBHOOK_ALLOW_PRIVATE=1` ([`Egress::AllowPrivate`]), deliveries go only to
//! public addresses ([`is_public`]):
//! * when a receiver is added, [`check_receiver_url`] refuses a host that is a non-public IP
//!   address or a `localhost` name (and, always, a URL with credentials in it);
//! * when an event is delivered, the check applies to **the address actually connected**: the
//!   delivery client resolves a host name once, through [`PublicResolver`], which drops every
//!   non-public address, and connects to what is left. No second lookup happens between the
//!   check and the connection, so DNS rebinding cannot slip a private address in. An IP literal
//!   is never resolved, so [`check_delivery_url`] checks it before the request. Proxies from the
//!   environment are not used in this mode: through a proxy, the address connected would be
//!   the proxy's, and the receiver's would not be checked at all.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Where event deliveries may connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    /// Only public (globally routable) addresses: the default.
    PublicOnly,
    /// Any address, including loopback and private networks (`ROSTER_WEBHOOK_ALLOW_PRIVATE=1`).
    AllowPrivate,
}

impl Egress {
    /// The policy for the `ROSTER_WEBHOOK_ALLOW_PRIVATE` setting.
    pub fn from_allow_private(allow: bool) -> Egress {
        if allow {
            Egress::AllowPrivate
        } else {
            Egress::PublicOnly
        }
    }
}

/// What to do when a receiver is refused.
const HOW_TO_ALLOW: &str = "set ROSTER_WEBHOOK_ALLOW_PRIVATE=1 to allow receivers on private networks";

/// Whether `ip` is a public, globally routable unicast address. Not public: unspecified,
/// loopback, private (RFC 1918), shared (100.64.0.0/10), link-local (including the metadata
/// service 169.254.169.254), unique-local (fc00::/7), multicast, broadcast, documentation,
/// benchmarking and reserved ranges, and IPv6 forms that embed such an IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network", unspecified
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || s[0] & 0xfe00 == 0xfc00 // unique local fc00::/7
        || s[0] & 0xffc0 == 0xfe80 // link-local fe80::/10
        || s[0] & 0xffc0 == 0xfec0 // site-local (deprecated) fec0::/10
        || s[0] & 0xff00 == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments 2001::/23
        || s[..6] == [0; 6]) // IPv4-compatible ::/96 (deprecated)
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or
/// 6to4 (`2002:aabb:ccdd::`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        [0x2002, hi, lo, ..] => Some(from(hi, lo)),
        _ => None,
    }
}

/// A host name that names this machine whatever DNS says.
fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Checks a receiver URL when it is added: `http(s)://`, no credentials in it (they would be
/// stored and shown; receivers authenticate deliveries by their signature), and, unless
/// private targets are allowed, a host that is neither a non-public IP address nor a
/// `localhost` name. Host names are checked again on every delivery (see the module docs).
pub fn check_receiver_url(url: &str, egress: Egress) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("--url is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("--url must be an http:// or https:// URL".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("--url must not contain credentials (user:password@); receivers authenticate \
                    deliveries by their signature"
            .into());
    }
    check_host(&parsed, egress)?;
    Ok(parsed)
}

/// Checks a delivery's URL before the request: a host that is an IP literal is never resolved,
/// so it is checked here; host names are checked by [`PublicResolver`] on the address the
/// client connects to.
pub fn check_delivery_url(url: &str, egress: Egress) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|e| format!("the receiver URL is not valid: {e}"))?;
    check_host(&parsed, egress)
}

fn check_host(url: &Url, egress: Egress) -> Result<(), String> {
    if egress == Egress::AllowPrivate {
        return Ok(());
    }
    let ip = match url.host() {
        None => return Err("the receiver URL has no host".into()),
        Some(url::Host::Domain(d)) if is_localhost(d) => {
            return Err(format!("the receiver host {d} is this machine; {HOW_TO_ALLOW}"))
        }
        Some(url::Host::Domain(_)) => return Ok(()),
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(format!("the receiver address {ip} is not a public address; {HOW_TO_ALLOW}"))
    }
}

/// `url` without credentials, for display (`https://user:pass@host/` → `https://host/`).
pub fn display_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            // Both setters only fail for URLs that cannot have credentials, which these have.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "(invalid URL)".to_string(),
    }
}

/// The delivery client's DNS resolver: resolves a host name once (the system resolver) and
/// keeps only public addresses, so the client can only connect to one of those. A name with
/// none left is an error that says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let shown: Vec<String> = all.iter().map(|a| a.ip().to_string()).collect();
                let msg =
                    format!("{host} resolves to no public address ({}); {HOW_TO_ALLOW}", shown.join(", "));
                return Err(msg.into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_non_public_addresses() {
        let not_public = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
            "2001::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "::127.0.0.1",
        ];
        for ip in not_public {
            assert!(!is_public(ip.parse().unwrap()), "{ip} is not public");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
        ];
        for ip in public {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn receiver_urls_when_added() {
        use Egress::*;
        let refused = [
            ("http://127.0.0.1:9/hook", PublicOnly, "127.0.0.1 is not a public address"),
            ("http://[::1]/hook", PublicOnly, "::1 is not a public address"),
            ("http://169.254.169.254/latest/meta-data", PublicOnly, "169.254.169.254"),
            ("http://2130706433/", PublicOnly, "127.0.0.1"),
            ("http://0x7f.1/", PublicOnly, "127.0.0.1"),
            ("http://10.0.0.5:8080/", PublicOnly, "10.0.0.5"),
            ("http://[fd00::5]/", PublicOnly, "fd00::5"),
            ("http://localhost:8080/", PublicOnly, "this machine"),
            ("http://LOCALHOST./", PublicOnly, "this machine"),
            ("http://api.localhost/", PublicOnly, "this machine"),
            ("https://user:pass@r.example/events", PublicOnly, "credentials"),
            ("https://user:pass@r.example/events", AllowPrivate, "credentials"),
            ("https://token@r.example/events", AllowPrivate, "credentials"),
            ("ftp://r.example/", AllowPrivate, "http:// or https://"),
            ("not a url", AllowPrivate, "not a valid URL"),
        ];
        for (url, egress, fragment) in refused {
            let err = check_receiver_url(url, egress).unwrap_err();
            assert!(err.contains(fragment), "{url}: {err}");
        }
        for (url, egress) in [
            ("https://r.example/events", PublicOnly),
            ("http://93.184.216.34/hook", PublicOnly),
            ("http://127.0.0.1:9/hook", AllowPrivate),
            ("http://localhost/", AllowPrivate),
        ] {
            assert!(check_receiver_url(url, egress).is_ok(), "{url}");
        }
    }

    #[test]
    fn credentials_are_never_displayed() {
        assert_eq!(display_url("https://user:pass@r.example/events"), "https://r.example/events");
        assert_eq!(display_url("https://token@r.example:8443/e?x=1"), "https://r.example:8443/e?x=1");
        assert_eq!(display_url("https://r.example/events"), "https://r.example/events");
    }

    #[tokio::test]
    async fn the_resolver_keeps_public_addresses_only() {
        let name: Name = "localhost".parse().unwrap();
        let err = PublicResolver.resolve(name).await.err().expect("localhost has no public address");
        assert!(err.to_string().contains("resolves to no public address"), "{err}");
    }
}
