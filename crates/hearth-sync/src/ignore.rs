//! `.stignore`: which names a folder leaves alone, in Syncthing's pattern syntax.
//!
//! One pattern per line; `//` starts a comment; `#include FILE` reads more patterns from a file
//! in the folder. Prefixes, in any order: `!` (the name is *not* ignored), `(?i)` (case does not
//! matter), `(?d)` (may be deleted when it blocks a directory removal). A pattern starting with
//! `/` matches from the folder's root, any other at every depth. `*` matches within one path
//! element, `**` across elements, `?` one character, `[a-z]`/`[!a-z]` a class, `{a,b}`
//! alternatives, `\` escapes the next character. A pattern that matches a directory also matches
//! everything in it. The first pattern that matches decides.
//!
//! The file is the owner's, but it arrives over WebDAV or sync like any other file, so it is
//! parsed defensively: long lines, deep includes and pattern blow-ups are refused with a reason.

use std::path::Path;

use crate::error::{Result, SyncError};

/// The longest pattern accepted (characters).
const MAX_PATTERN: usize = 1024;
/// How many alternatives one `{a,b}` pattern may expand into.
const MAX_EXPANSIONS: usize = 64;
/// How deep `#include` may nest.
const MAX_INCLUDE_DEPTH: usize = 8;
/// How many patterns one folder may have.
const MAX_PATTERNS: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    AnyChar,
    Star,
    /// `**`: anything, slashes included.
    DoubleStar,
    /// `**/`: nothing, or anything that ends with a slash (so `**/a` matches a top-level `a`).
    AnyDirs,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

#[derive(Debug, Clone)]
struct Pattern {
    tokens: Vec<Token>,
    include: bool,
    case_insensitive: bool,
    deletable: bool,
}

/// A folder's ignore patterns.
#[derive(Debug, Clone, Default)]
pub struct Ignores {
    patterns: Vec<Pattern>,
    has_negations: bool,
}

/// What the patterns say about a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No pattern matches: the name is synced.
    Synced,
    /// Ignored: neither scanned nor pulled nor deleted.
    Ignored,
    /// Ignored, but may be removed when it is all that keeps a deleted directory alive.
    IgnoredDeletable,
}

impl Ignores {
    /// No patterns: everything is synced.
    pub fn none() -> Self {
        Ignores::default()
    }

    /// Read `ROOT/.stignore` (missing: no patterns).
    pub fn load(root: &Path) -> Result<Self> {
        let mut out = Ignores::default();
        match std::fs::read_to_string(root.join(".stignore")) {
            Ok(text) => out.add_lines(root, &text, 0)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(SyncError::io(root.join(".stignore").display().to_string(), e)),
        }
        Ok(out)
    }

    /// Patterns from text (what `.stignore` holds); `#include` lines are resolved under `root`.
    pub fn parse(root: &Path, text: &str) -> Result<Self> {
        let mut out = Ignores::default();
        out.add_lines(root, text, 0)?;
        Ok(out)
    }

    fn add_lines(&mut self, root: &Path, text: &str, depth: usize) -> Result<()> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r').trim_end();
            let at = |why: String| SyncError::BadIgnore(format!("line {}: {why}", n + 1));
            if line.trim().is_empty() || line.trim_start().starts_with("//") {
                continue;
            }
            if let Some(file) = line.strip_prefix("#include") {
                let file = file.trim();
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(at(format!("#include {file}: includes nest deeper than {MAX_INCLUDE_DEPTH}")));
                }
                let path = crate::paths::safe_path(root, file).map_err(|e| at(format!("#include {file}: {e}")))?;
                let included = std::fs::read_to_string(&path).map_err(|e| at(format!("#include {file}: {e}")))?;
                self.add_lines(root, &included, depth + 1)?;
                continue;
            }
            if line.starts_with('#') {
                return Err(at(format!("unknown directive {line:?}")));
            }
            self.add_pattern(line).map_err(at)?;
        }
        Ok(())
    }

    fn add_pattern(&mut self, line: &str) -> std::result::Result<(), String> {
        if line.chars().count() > MAX_PATTERN {
            return Err(format!("a pattern longer than {MAX_PATTERN} characters"));
        }
        let (mut include, mut case_insensitive, mut deletable) = (false, false, false);
        let mut rest = line;
        loop {
            if let Some(r) = rest.strip_prefix('!') {
                include = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("(?i)") {
                case_insensitive = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("(?d)") {
                deletable = true;
                rest = r;
            } else {
                break;
            }
        }
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest == "/" {
            return Err("an empty pattern".into());
        }
        let (anchored, body) = match rest.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let body = if case_insensitive { body.to_lowercase() } else { body.to_string() };
        for alt in expand(&body)? {
            let mut forms = vec![alt.clone(), format!("{alt}/**")];
            if !anchored && !alt.starts_with("**") {
                forms.push(format!("**/{alt}"));
                forms.push(format!("**/{alt}/**"));
            }
            for form in forms {
                if self.patterns.len() >= MAX_PATTERNS {
                    return Err(format!("more than {MAX_PATTERNS} patterns"));
                }
                self.patterns.push(Pattern { tokens: tokenize(&form)?, include, case_insensitive, deletable });
            }
        }
        self.has_negations |= include;
        Ok(())
    }

    /// What the patterns say about `name` (a path relative to the folder, `/`-separated).
    pub fn verdict(&self, name: &str) -> Verdict {
        let folded = name.to_lowercase();
        for p in &self.patterns {
            let text = if p.case_insensitive { &folded } else { name };
            if matches(&p.tokens, text) {
                return match (p.include, p.deletable) {
                    (true, _) => Verdict::Synced,
                    (false, true) => Verdict::IgnoredDeletable,
                    (false, false) => Verdict::Ignored,
                };
            }
        }
        Verdict::Synced
    }

    /// Whether `name` is ignored.
    pub fn ignored(&self, name: &str) -> bool {
        self.verdict(name) != Verdict::Synced
    }

    /// Whether the scanner may skip an ignored directory without looking inside: only when no
    /// `!` pattern could bring something inside it back.
    pub fn skip_ignored_dirs(&self) -> bool {
        !self.has_negations
    }
}

/// `a{b,c}d` → `abd`, `acd` (nested braces too), bounded.
fn expand(s: &str) -> std::result::Result<Vec<String>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut open = None;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => {
                open = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let Some(start) = open else { return Ok(vec![s.to_string()]) };
    let (mut depth, mut parts, mut cur, mut end) = (0usize, Vec::new(), String::new(), None);
    let mut j = start + 1;
    while j < chars.len() {
        let c = chars[j];
        match c {
            '\\' if j + 1 < chars.len() => {
                cur.push(c);
                cur.push(chars[j + 1]);
                j += 1;
            }
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' if depth > 0 => {
                depth -= 1;
                cur.push(c);
            }
            '}' => {
                parts.push(std::mem::take(&mut cur));
                end = Some(j);
                break;
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
        j += 1;
    }
    let Some(end) = end else { return Err("a '{' without its '}'".into()) };
    let prefix: String = chars[..start].iter().collect();
    let suffix: String = chars[end + 1..].iter().collect();
    let mut out = Vec::new();
    for part in parts {
        for e in expand(&format!("{prefix}{part}{suffix}"))? {
            out.push(e);
            if out.len() > MAX_EXPANSIONS {
                return Err(format!("'{{…}}' expands into more than {MAX_EXPANSIONS} patterns"));
            }
        }
    }
    Ok(out)
}

fn tokenize(s: &str) -> std::result::Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let c = chars.get(i + 1).ok_or("a pattern ending in '\\'")?;
                out.push(Token::Char(*c));
                i += 1;
            }
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    out.push(Token::AnyDirs);
                    i += 2;
                } else {
                    out.push(Token::DoubleStar);
                    i += 1;
                }
            }
            '*' => out.push(Token::Star),
            '?' => out.push(Token::AnyChar),
            '[' => {
                let mut j = i + 1;
                let negated = matches!(chars.get(j), Some('!' | '^'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                while j < chars.len() && (chars[j] != ']' || first) {
                    first = false;
                    let lo = chars[j];
                    if chars.get(j + 1) == Some(&'-') && chars.get(j + 2).is_some_and(|c| *c != ']') {
                        ranges.push((lo, chars[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((lo, lo));
                        j += 1;
                    }
                }
                if j >= chars.len() {
                    return Err("a '[' without its ']'".into());
                }
                out.push(Token::Class { negated, ranges });
                i = j;
            }
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    Ok(out)
}

/// Whether `tokens` match all of `text`: dynamic programming over (token, character), so no
/// pattern can take more than tokens × characters steps.
fn matches(tokens: &[Token], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let n = text.len();
    let mut prev = vec![false; n + 1];
    prev[0] = true;
    for token in tokens {
        let mut cur = vec![false; n + 1];
        match token {
            Token::AnyDirs => {
                let mut seen = false;
                for j in 0..=n {
                    seen |= prev[j];
                    cur[j] |= prev[j];
                    if seen && j < n && text[j] == '/' {
                        cur[j + 1] = true;
                    }
                }
            }
            Token::DoubleStar => {
                let mut seen = false;
                for j in 0..=n {
                    seen |= prev[j];
                    cur[j] = seen;
                }
            }
            Token::Star => {
                let mut run = false;
                for j in 0..=n {
                    run = prev[j] || (run && j > 0 && text[j - 1] != '/');
                    cur[j] = run;
                }
            }
            t => {
                for j in 0..n {
                    if prev[j] {
                        let c = text[j];
                        cur[j + 1] = match t {
                            Token::Char(p) => *p == c,
                            Token::AnyChar => c != '/',
                            Token::Class { negated, ranges } => {
                                c != '/' && (ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated)
                            }
                            Token::Star | Token::DoubleStar | Token::AnyDirs => false,
                        };
                    }
                }
            }
        }
        prev = cur;
    }
    prev[n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> Ignores {
        Ignores::parse(Path::new("/nonexistent"), text).expect("parse")
    }

    #[test]
    fn syncthing_examples() {
        let i = ig("// thumbnails\n*.tmp\n/build\n!important.log\n*.log\n(?i)Thumbs.DB\ncache/**\nfoo?.txt\n[ab]x\n{one,two}.bak\n");
        assert!(i.ignored("a.tmp"));
        assert!(i.ignored("deep/er/a.tmp"), "unanchored patterns match at any depth");
        assert!(i.ignored("build") && i.ignored("build/out.o"), "a matched directory covers its contents");
        assert!(!i.ignored("src/build"), "anchored patterns only at the root");
        assert!(!i.ignored("important.log") && i.ignored("debug.log"), "first match decides");
        assert!(i.ignored("x/thumbs.db") && i.ignored("THUMBS.db"));
        assert!(i.ignored("cache/a/b"));
        assert!(i.ignored("foo1.txt") && !i.ignored("foo12.txt") && !i.ignored("foo/.txt"));
        assert!(i.ignored("ax") && i.ignored("bx") && !i.ignored("cx"));
        assert!(i.ignored("one.bak") && i.ignored("two.bak") && !i.ignored("three.bak"));
        assert!(!i.ignored("photo.jpg"));
        assert!(!i.ignored("tmp"), "'*.tmp' needs the dot");
    }

    #[test]
    fn double_star_and_star_rules() {
        let i = ig("/a/**/z\n/s*t\n");
        assert!(i.ignored("a/z") && i.ignored("a/b/c/z"));
        assert!(i.ignored("st") && i.ignored("sxxt") && !i.ignored("s/t"));
        let d = ig("(?d)/.DS_Store\n");
        assert_eq!(d.verdict(".DS_Store"), Verdict::IgnoredDeletable);
    }

    #[test]
    fn bad_patterns_are_refused_with_their_line() {
        for (text, why) in [("ok\n[abc\n", "line 2"), ("{a,b\n", "line 1"), ("#frobnicate\n", "unknown directive"), ("!\n", "empty")] {
            let err = Ignores::parse(Path::new("/x"), text).expect_err(text).to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        }
        let bomb = "{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}\n";
        assert!(Ignores::parse(Path::new("/x"), bomb).is_err());
    }

    #[test]
    fn includes_stay_in_the_folder_and_do_not_loop() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("more.txt"), "*.raw\n").expect("write");
        std::fs::write(dir.path().join("loop.txt"), "#include loop.txt\n").expect("write");
        let i = Ignores::parse(dir.path(), "#include more.txt\n").expect("include");
        assert!(i.ignored("x.raw"));
        assert!(Ignores::parse(dir.path(), "#include ../etc/passwd\n").is_err());
        let err = Ignores::parse(dir.path(), "#include loop.txt\n").expect_err("loop").to_string();
        assert!(err.contains("deeper"), "{err}");
    }

    #[test]
    fn long_names_match_in_bounded_time() {
        let i = ig("*a*a*a*a*a*a*a*a*b\n");
        let name = "a".repeat(5000);
        assert!(!i.ignored(&name));
    }
}
