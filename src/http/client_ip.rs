//! The client's address: the TCP peer, or, when the peer is a trusted
//! proxy, the address the proxies forwarded (`Forwarded: for=`, RFC 7239,
//! else `X-Forwarded-For`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::header::FORWARDED;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client of a request; `None` when the server gives no
/// `ConnectInfo<SocketAddr>`.
pub(crate) fn client_ip(parts: &Parts, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(forwarded_client(
        peer.to_canonical(),
        &parts.headers,
        trusted_proxies,
    ))
}

/// Walks the forwarded addresses from the right (the nearest hop) past
/// every trusted proxy; the first address that is not one is the client.
/// A hop that does not say (`unknown`, an obfuscated name, garbage) cannot
/// be seen past: the proxy that reported it stands for the client.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    if !is_trusted(peer, trusted_proxies) {
        return peer;
    }
    let hops = forwarded_for(headers).unwrap_or_else(|| x_forwarded_for(headers));
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(address) = hop else { break };
        client = address;
        if !is_trusted(address, trusted_proxies) {
            break;
        }
    }
    client
}

fn is_trusted(address: IpAddr, trusted_proxies: &[IpNet]) -> bool {
    trusted_proxies.iter().any(|net| net.contains(&address))
}

/// The `for=` of every `Forwarded` element, left to right; `None` when
/// there is no `Forwarded` header.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut values = headers.get_all(FORWARDED).iter().peekable();
    values.peek()?;
    let mut hops = Vec::new();
    for value in values {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then_some(value)
            });
            hops.push(node.and_then(parse_node));
        }
    }
    Some(hops)
}

/// The addresses of every `X-Forwarded-For` header, left to right.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text.split(',').map(parse_node).collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`;
/// `None` for `unknown`, obfuscated names and garbage.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    let address = node
        .parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            node.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })?;
    Some(address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    fn client(peer: &str, headers: &[(&str, &str)], trusted: &[&str]) -> IpAddr {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        forwarded_client(peer.parse().unwrap(), &map, &nets(trusted))
    }

    fn ip(address: &str) -> IpAddr {
        address.parse().unwrap()
    }

    #[test]
    fn nodes_parse_with_or_without_ports_and_brackets() {
        assert_eq!(parse_node(" 192.0.2.1"), Some(ip("192.0.2.1")));
        assert_eq!(parse_node("192.0.2.1:4711"), Some(ip("192.0.2.1")));
        assert_eq!(
            parse_node("\"[2001:db8::1]:4711\""),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(parse_node("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("::ffff:192.0.2.9"), Some(ip("192.0.2.9")));
        assert_eq!(parse_node("unknown"), None);
        assert_eq!(parse_node("_hidden"), None);
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let headers = [("x-forwarded-for", "203.0.113.9")];
        assert_eq!(
            client("198.51.100.1", &headers, &["10.0.0.0/8"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let headers = [("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")];
        assert_eq!(
            client("10.0.0.1", &headers, &["10.0.0.0/8"]),
            ip("203.0.113.9")
        );
        // Several headers form one list.
        let headers = [
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(
            client("10.0.0.1", &headers, &["10.0.0.0/8"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for() {
        let headers = [
            ("x-forwarded-for", "203.0.113.9"),
            (
                "forwarded",
                "for=1.1.1.1;proto=https, For=\"[2001:db8::7]:443\";by=10.0.0.1",
            ),
        ];
        assert_eq!(
            client("10.0.0.1", &headers, &["10.0.0.1/32"]),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn an_undisclosed_hop_is_not_seen_past() {
        let headers = [("forwarded", "for=1.1.1.1, for=unknown")];
        assert_eq!(
            client("10.0.0.1", &headers, &["10.0.0.1/32"]),
            ip("10.0.0.1")
        );
        // Trusted all the way: the leftmost address.
        let headers = [("x-forwarded-for", "10.0.0.3, 10.0.0.2")];
        assert_eq!(
            client("10.0.0.1", &headers, &["10.0.0.0/8"]),
            ip("10.0.0.3")
        );
        // No header: the proxy itself.
        assert_eq!(client("10.0.0.1", &[], &["10.0.0.0/8"]), ip("10.0.0.1"));
    }
}
