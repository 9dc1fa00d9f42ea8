//! The domain crate's bounded contexts depend on each other one way, as the
//! README's architecture section says.
//!
//! Each folder (or file) directly under `shared/domain/src/` is a context.
//! The shared kernel (value types every context may use: addresses, subject
//! keys, tokens, time; and calls made at once) may use only itself. A context uses another when its
//! non-test code names `crate::<other>`. The graph must have no cycle, and the
//! README's table must list exactly the edges the code has.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Value types every context may use, and the one helper for calls made at
/// once; they use nothing but each other.
const KERNEL: &[&str] = &[
    "clock",
    "concurrently",
    "email",
    "network",
    "person",
    "subject",
    "tokens",
    "validation",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read the source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// `dsr` for `src/dsr/intake.rs` and for `src/dsr.rs`; `None` for `lib.rs`.
fn context_of(source: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(source).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(stem) => Some(stem.to_owned()),
        None => Some(first.to_owned()),
    }
}

/// The code before the file's unit tests.
fn non_test_code(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// The first path segment after each `crate::`, including each name of a
/// grouped `use crate::{a::X, b}`.
fn contexts_named(code: &str) -> BTreeSet<String> {
    let identifier = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut named = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        start = true;
                        continue;
                    }
                    _ => {}
                }
                if start && depth == 0 && (c.is_ascii_alphanumeric() || c == '_') {
                    named.insert(identifier(&group[index..]));
                    start = false;
                }
            }
        } else {
            named.insert(identifier(rest));
        }
    }
    named
}

fn graph() -> Graph {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&source, &mut files);
    let contexts: BTreeSet<String> = files.iter().filter_map(|file| context_of(&source, file)).collect();
    let mut graph = Graph::new();
    for file in &files {
        let Some(context) = context_of(&source, file) else {
            continue;
        };
        let text = fs::read_to_string(file).expect("read a source file");
        let uses = graph.entry(context.clone()).or_default();
        for named in contexts_named(non_test_code(&text)) {
            if named != context && contexts.contains(&named) {
                uses.insert(named);
            }
        }
    }
    graph
}

/// The contexts in an order where each uses only earlier ones, or the
/// contexts left on a cycle.
fn layers(graph: &Graph) -> Result<Vec<String>, BTreeSet<String>> {
    let mut placed: Vec<String> = Vec::new();
    let mut left: BTreeSet<&String> = graph.keys().collect();
    while !left.is_empty() {
        let ready: Vec<&String> = left
            .iter()
            .copied()
            .filter(|context| graph[*context].iter().all(|used| placed.contains(used)))
            .collect();
        if ready.is_empty() {
            return Err(left.into_iter().cloned().collect());
        }
        for context in ready {
            left.remove(context);
            placed.push(context.clone());
        }
    }
    Ok(placed)
}

/// The README's table: `| `context` | what it owns | `a`, `b` |` rows
/// between the `domain-contexts` markers.
fn documented() -> Graph {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).expect("read the README");
    let start = readme
        .find("<!-- domain-contexts -->")
        .expect("the README marks its table of contexts");
    let end = readme
        .find("<!-- /domain-contexts -->")
        .expect("the table of contexts ends");
    let mut graph = Graph::new();
    for row in readme[start..end].lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let context = cells[1].trim_matches('`').to_owned();
        let uses = cells[3]
            .split(',')
            .map(|name| name.trim().trim_matches('`').to_owned())
            .filter(|name| !name.is_empty() && name != "kernel" && name != "—")
            .collect();
        graph.insert(context, uses);
    }
    graph
}

#[test]
fn the_contexts_depend_on_each_other_one_way() {
    let graph = graph();
    let order = layers(&graph)
        .unwrap_or_else(|cycle| panic!("these contexts use each other in a cycle: {cycle:?}\n{graph:#?}"));
    println!("contexts, each using only earlier ones: {order:?}");
}

#[test]
fn the_kernel_uses_no_context() {
    for (context, uses) in graph() {
        if KERNEL.contains(&context.as_str()) {
            let beyond: Vec<&String> = uses.iter().filter(|used| !KERNEL.contains(&used.as_str())).collect();
            assert!(beyond.is_empty(), "the kernel module {context} uses {beyond:?}");
        }
    }
}

#[test]
fn the_readme_shows_the_graph_the_code_has() {
    let contexts: Graph = graph()
        .into_iter()
        .filter(|(context, _)| !KERNEL.contains(&context.as_str()))
        .map(|(context, uses)| {
            let uses = uses
                .into_iter()
                .filter(|used| !KERNEL.contains(&used.as_str()))
                .collect();
            (context, uses)
        })
        .collect();
    assert_eq!(
        documented(),
        contexts,
        "the README's table of contexts and the code disagree"
    );
}

#[test]
fn grouped_and_inline_paths_are_both_read() {
    let named = contexts_named("use crate::{dsr::{A, B}, mail::Mail};\nlet x = crate::store::put(y);");
    assert_eq!(
        named,
        BTreeSet::from(["dsr".to_owned(), "mail".to_owned(), "store".to_owned()])
    );
}
