//! Grouping faces into people. Two ways, with the same rules:
//! - [`place`], for each new face: it joins the person of its nearest face within the distance;
//!   with no such person, it and its unplaced neighbours become a new person once there are at
//!   least `min_faces` of them (one good photo of a stranger in the background makes no person);
//!   otherwise it waits, unplaced.
//! - [`regroup`], nightly: DBSCAN over every face (a face with `min_faces − 1` neighbours within
//!   the distance is a core; cores within the distance of each other, and the faces near them, are
//!   one person). Faces a family put somewhere by hand stay there and carry their person into the
//!   group they land in; other groups keep the person most of their faces had, so names survive.
//!
//! Distances are cosine distances of unit-length SFace embeddings; docs/ml.md has the measured
//! values behind the defaults.

use std::collections::HashMap;

use crate::faces::embedder::Embedding;

/// The rules of grouping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupingRules {
    /// Two faces this close or closer may be the same person.
    pub max_distance: f32,
    /// A new person needs at least this many faces.
    pub min_faces: usize,
}

impl Default for GroupingRules {
    fn default() -> Self {
        GroupingRules { max_distance: 0.5, min_faces: 3 }
    }
}

/// A face as grouping sees it.
#[derive(Debug, Clone)]
pub struct GroupedFace<P> {
    /// Its embedding.
    pub embedding: Embedding,
    /// Its person, if it has one.
    pub person: Option<P>,
    /// Put there by hand: grouping never moves it.
    pub pinned: bool,
}

/// What to do with a new face.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement<P> {
    /// It belongs to this person.
    Join(P),
    /// It and these unplaced faces (indexes into the known faces) make a new person.
    NewPerson(Vec<usize>),
    /// Not enough evidence yet.
    Unplaced,
}

/// Where a new face goes, given the faces already known.
pub fn place<P: Clone>(new: &Embedding, known: &[GroupedFace<P>], rules: GroupingRules) -> Placement<P> {
    let mut nearest_person: Option<(f32, &P)> = None;
    let mut unplaced = Vec::new();
    for (i, face) in known.iter().enumerate() {
        // A face the family took out of every person stays out, and makes no person.
        if face.pinned && face.person.is_none() {
            continue;
        }
        let d = new.distance(&face.embedding);
        if d.is_nan() || d > rules.max_distance {
            continue;
        }
        match &face.person {
            Some(p) => {
                if nearest_person.is_none_or(|(best, _)| d < best) {
                    nearest_person = Some((d, p));
                }
            }
            None => unplaced.push(i),
        }
    }
    if let Some((_, p)) = nearest_person {
        return Placement::Join(p.clone());
    }
    if unplaced.len() + 1 >= rules.min_faces.max(1) { Placement::NewPerson(unplaced) } else { Placement::Unplaced }
}

/// The result of a regrouping: for each face, its person (an existing one, a new group's number,
/// or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regrouped<P> {
    /// An existing person.
    Person(P),
    /// New group number `n` (faces with the same number make one new person).
    New(usize),
    /// No person.
    None,
}

/// Groups every face again (see the module's description).
pub fn regroup<P: Clone + Eq + std::hash::Hash>(faces: &[GroupedFace<P>], rules: GroupingRules) -> Vec<Regrouped<P>> {
    let n = faces.len();
    let neighbours: Vec<Vec<usize>> = (0..n)
        .map(|i| (0..n).filter(|&j| j != i && faces[i].embedding.distance(&faces[j].embedding) <= rules.max_distance).collect())
        .collect();
    let core: Vec<bool> = neighbours.iter().map(|nb| nb.len() + 1 >= rules.min_faces.max(1)).collect();
    let mut cluster: Vec<Option<usize>> = vec![None; n];
    let mut clusters = 0;
    for start in 0..n {
        if !core[start] || cluster[start].is_some() {
            continue;
        }
        let id = clusters;
        clusters += 1;
        let mut stack = vec![start];
        cluster[start] = Some(id);
        while let Some(i) = stack.pop() {
            for &j in &neighbours[i] {
                if cluster[j].is_none() {
                    cluster[j] = Some(id);
                    if core[j] {
                        stack.push(j);
                    }
                }
            }
        }
    }
    // Each group keeps a person: the one its pinned faces have (most of them), else the one most
    // of its faces had; a person goes to one group only, the group where most of its faces are.
    let mut votes: Vec<HashMap<&P, (usize, usize)>> = vec![HashMap::new(); clusters];
    for (face, c) in faces.iter().zip(&cluster) {
        if let (Some(c), Some(p)) = (c, &face.person) {
            let v = votes[*c].entry(p).or_default();
            if face.pinned {
                v.0 += 1;
            } else {
                v.1 += 1;
            }
        }
    }
    let mut claims: Vec<(usize, usize, usize, &P)> = Vec::new();
    for (c, v) in votes.iter().enumerate() {
        for (p, &(pinned, other)) in v {
            claims.push((pinned, other, c, *p));
        }
    }
    claims.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)).then(a.2.cmp(&b.2)));
    let mut person_of: Vec<Option<&P>> = vec![None; clusters];
    let mut taken: Vec<&P> = Vec::new();
    for (_, _, c, p) in claims {
        if person_of[c].is_none() && !taken.contains(&p) {
            person_of[c] = Some(p);
            taken.push(p);
        }
    }
    let mut new_numbers: HashMap<usize, usize> = HashMap::new();
    faces
        .iter()
        .zip(&cluster)
        .map(|(face, c)| {
            if face.pinned {
                return face.person.clone().map_or(Regrouped::None, Regrouped::Person);
            }
            match c {
                None => Regrouped::None,
                Some(c) => match person_of[*c] {
                    Some(p) => Regrouped::Person(p.clone()),
                    None => {
                        let next = new_numbers.len();
                        Regrouped::New(*new_numbers.entry(*c).or_insert(next))
                    }
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faces::embedder::EMBEDDING_LEN;

    /// A unit vector near axis `axis`, nudged by `jitter` along axis `axis + 1`.
    fn near(axis: usize, jitter: f32) -> Embedding {
        let mut v = [0f32; EMBEDDING_LEN];
        v[axis] = 1.0;
        v[(axis + 1) % EMBEDDING_LEN] = jitter;
        Embedding::normalised(&v).expect("unit")
    }

    fn face(e: Embedding, person: Option<u32>, pinned: bool) -> GroupedFace<u32> {
        GroupedFace { embedding: e, person, pinned }
    }

    #[test]
    fn a_new_face_joins_the_nearest_person_within_the_distance() {
        let rules = GroupingRules::default();
        let known = vec![face(near(0, 0.1), Some(1), false), face(near(10, 0.1), Some(2), false)];
        assert_eq!(place(&near(0, 0.2), &known, rules), Placement::Join(1));
        assert_eq!(place(&near(10, 0.0), &known, rules), Placement::Join(2));
        assert_eq!(place(&near(50, 0.0), &known, rules), Placement::Unplaced);
    }

    #[test]
    fn a_person_is_made_only_from_enough_similar_faces() {
        let rules = GroupingRules::default();
        let mut known = vec![face(near(3, 0.05), None, false)];
        assert_eq!(place(&near(3, 0.1), &known, rules), Placement::Unplaced, "two faces are not enough");
        known.push(face(near(3, 0.1), None, false));
        known.push(face(near(60, 0.0), None, false));
        assert_eq!(place(&near(3, 0.15), &known, rules), Placement::NewPerson(vec![0, 1]));
        // One of them taken out of every person by hand: not enough any more.
        known[1].pinned = true;
        assert_eq!(place(&near(3, 0.15), &known, rules), Placement::Unplaced);
    }

    #[test]
    fn regrouping_keeps_names_and_hand_placed_faces_and_splits_strangers() {
        let rules = GroupingRules::default();
        let faces = vec![
            // Person 7: four faces near axis 0, one of them wrongly in person 9.
            face(near(0, 0.0), Some(7), false),
            face(near(0, 0.1), Some(7), false),
            face(near(0, 0.2), Some(7), false),
            face(near(0, 0.15), Some(9), false),
            // Person 9 by hand, alone far away: stays.
            face(near(40, 0.0), Some(9), true),
            // A new group of three, nobody's yet.
            face(near(80, 0.0), None, false),
            face(near(80, 0.1), None, false),
            face(near(80, 0.2), None, false),
            // A lone stranger.
            face(near(120, 0.0), Some(7), false),
        ];
        let got = regroup(&faces, rules);
        assert_eq!(
            got,
            vec![
                Regrouped::Person(7),
                Regrouped::Person(7),
                Regrouped::Person(7),
                Regrouped::Person(7),
                Regrouped::Person(9),
                Regrouped::New(0),
                Regrouped::New(0),
                Regrouped::New(0),
                Regrouped::None,
            ]
        );
    }
}
