//! Markdown for people (period notes, variance explanations): CommonMark plus tables
//! through pulldown-cmark, then sanitised by ammonia, so no script, event handler,
//! style, frame or `javascript:` URL survives. Images are dropped too: a remote image
//! would call out to its host whenever a client opens the page (link to an attachment
//! instead). Links are kept when relative to the page or `https:`/`mailto:`. The result is the only HTML that
//! templates print unescaped (fields named `*_html`).

use pulldown_cmark::{Options, Parser, html};
use std::collections::HashSet;

/// Markdown → sanitised HTML.
pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES);
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .rm_tags(["img"])
        .url_schemes(HashSet::from(["https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_relative(ammonia::UrlRelative::Custom(Box::new(portal_relative)))
        .clean(&unsafe_html)
        .to_string()
}

/// Keeps links relative to the page (`attachments/x.pdf`, `#total`) and drops
/// root-absolute and protocol-relative ones, which break a portal served from a
/// sub-path or from `file://`, or leave it for another host.
fn portal_relative(url: &str) -> Option<std::borrow::Cow<'_, str>> {
    (!url.starts_with('/') && !url.starts_with('\\')).then_some(std::borrow::Cow::Borrowed(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_with_tables_renders() {
        let html = to_html("**Outage** on 14 Oct.\n\n| day | units |\n|---|---|\n| 14 | 0 |\n");
        assert!(html.contains("<strong>Outage</strong>"));
        assert!(html.contains("<table>"));
        assert!(html.contains("<td>0</td>"));
    }

    #[test]
    fn nothing_executable_survives() {
        let hostile = concat!(
            "<script>alert(1)</script>\n\n",
            "<img src=x onerror=alert(2)>\n\n",
            "[click](javascript:alert(3)) [data](data:text/html,x) [ok](https://example.com)\n\n",
            "<a href=\"JaVaScRiPt:alert(4)\">x</a> <iframe src=https://evil.example></iframe>\n\n",
            "<div style=\"background:url(javascript:alert(5))\" onclick=\"alert(6)\">y</div>\n\n",
            "<svg><script>alert(7)</script></svg><form action=https://evil.example><input></form>",
        );
        let html = to_html(hostile).to_lowercase();
        for banned in [
            "<script",
            "onerror",
            "onclick",
            "javascript:",
            "data:",
            "<iframe",
            "style=",
            "<svg",
            "<form",
            "<input",
            "<img",
        ] {
            assert!(!html.contains(banned), "{banned} survived in {html}");
        }
        assert!(html.contains("href=\"https://example.com\""));
    }

    #[test]
    fn links_stay_inside_the_portal_or_go_out_over_https() {
        let html = to_html("[a](attachments/x.pdf) [b](/etc/passwd) [c](//evil.example/x)");
        assert!(html.contains("href=\"attachments/x.pdf\""));
        assert!(!html.contains("/etc/passwd"));
        assert!(!html.contains("evil.example"));
    }
}
