//! "Did you mean …?" for names typed by people.

/// The candidate closest to `typed`, if it is close enough to be a likely typo.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed_upper = typed.to_ascii_uppercase();
    let budget = (typed.chars().count() / 4).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (distance(&typed_upper, &c.to_ascii_uppercase()), c))
        .filter(|&(d, _)| d <= budget)
        .min_by_key(|&(d, c)| (d, c.len()))
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_not_strangers() {
        let actions = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_LOG"];
        assert_eq!(closest("SCMP_ACT_ALOW", actions), Some("SCMP_ACT_ALLOW"));
        assert_eq!(closest("scmp_act_errno", actions), Some("SCMP_ACT_ERRNO"));
        assert_eq!(closest("banana", actions), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
