//! Decomposable (chordal) graphs on p vertices, with their cliques and separators.
//!
//! Every undirected graph on p ≤ [`MAX_VERTICES`] labelled vertices is tested for
//! chordality by simplicial-vertex elimination; the maximal cliques are read off the
//! elimination, and the separators are the non-empty edge labels of a maximum-weight
//! spanning tree of the clique-intersection graph (a junction tree: its multiset of
//! separators is the same for every junction tree of the graph).
//!
//! ```text
//! counts of decomposable graphs (OEIS A058862):
//!   p      1  2  3   4    5      6        7
//!   count  1  2  8  61  822  18154   617675
//! ```
//!
//! # References
//! Lauritzen (1996) *Graphical Models*, §2.1; Madigan & York (1997) *Biometrika*
//! 84(1):19–31. The graph lists `dga::graphs3`, `graphs4`, `graphs5` (R package dga).

use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest number of vertices [`decomposable_graphs`] enumerates (2^21 graphs at p = 7).
pub const MAX_VERTICES: usize = 7;

/// A decomposable graph as cliques and separators, each a bit mask of vertices (bit j =
/// vertex / list j + 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DecomposableGraph {
    /// Number of vertices.
    pub p: usize,
    /// Maximal cliques (isolated vertices are cliques of size one), sorted.
    pub cliques: Vec<u32>,
    /// Non-empty separators of a junction tree (a multiset), sorted.
    pub separators: Vec<u32>,
}

impl DecomposableGraph {
    /// Builds a graph from cliques given as 1-based vertex lists (dga's `C`) and
    /// separators (dga's `S`); sorts both so that equal graphs compare equal.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a vertex outside `1..=p` or an empty clique.
    pub fn from_lists(p: usize, cliques: &[Vec<usize>], separators: &[Vec<usize>]) -> Result<Self> {
        let mask = |set: &Vec<usize>| -> Result<u32> {
            let mut m = 0u32;
            for &v in set {
                if v == 0 || v > p || v > 32 {
                    return Err(Error::invalid(format!(
                        "vertex {v} outside 1..={p} in a clique or separator"
                    )));
                }
                m |= 1 << (v - 1);
            }
            Ok(m)
        };
        let mut c = cliques.iter().map(mask).collect::<Result<Vec<_>>>()?;
        let mut s = separators.iter().map(mask).collect::<Result<Vec<_>>>()?;
        if c.contains(&0) {
            return Err(Error::invalid("empty clique"));
        }
        s.retain(|&m| m != 0);
        c.sort_unstable();
        s.sort_unstable();
        Ok(DecomposableGraph {
            p,
            cliques: c,
            separators: s,
        })
    }

    /// The graph's label in dga's style: `[1,2][1,3][4]`.
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// Whether the edge between vertices `a` and `b` (0-based) is present.
    pub fn has_edge(&self, a: usize, b: usize) -> bool {
        let m = (1u32 << a) | (1u32 << b);
        a != b && self.cliques.iter().any(|&c| c & m == m)
    }
}

impl fmt::Display for DecomposableGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &c in &self.cliques {
            let v: Vec<String> = (0..self.p)
                .filter(|j| c >> j & 1 == 1)
                .map(|j| (j + 1).to_string())
                .collect();
            write!(f, "[{}]", v.join(","))?;
        }
        Ok(())
    }
}

/// Index of the edge between `a < b` in the upper-triangle enumeration used by
/// [`decomposable_graphs`].
fn edge_pairs(p: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for a in 0..p {
        for b in a + 1..p {
            v.push((a, b));
        }
    }
    v
}

/// Cliques and separators of the graph with adjacency bit masks `adj`, or `None` when the
/// graph is not chordal.
pub fn decompose(adj: &[u32]) -> Option<(Vec<u32>, Vec<u32>)> {
    let p = adj.len();
    let mut remaining: u32 = if p == 32 { u32::MAX } else { (1u32 << p) - 1 };
    let mut candidates: Vec<u32> = Vec::with_capacity(p);
    // Eliminate simplicial vertices (neighbourhood within the remaining graph complete).
    while remaining != 0 {
        let mut found = None;
        let mut r = remaining;
        while r != 0 {
            let v = r.trailing_zeros() as usize;
            r &= r - 1;
            let nb = adj[v] & remaining;
            let mut ok = true;
            let mut q = nb;
            while q != 0 {
                let u = q.trailing_zeros() as usize;
                q &= q - 1;
                // every other neighbour must be adjacent to u
                if (nb & !(1 << u)) & !adj[u] != 0 {
                    ok = false;
                    break;
                }
            }
            if ok {
                found = Some((v, nb));
                break;
            }
        }
        let (v, nb) = found?;
        candidates.push(nb | (1 << v));
        remaining &= !(1 << v);
    }
    // Maximal cliques are the candidates not contained in another.
    let mut cliques: Vec<u32> = Vec::new();
    for (i, &c) in candidates.iter().enumerate() {
        let contained = candidates
            .iter()
            .enumerate()
            .any(|(j, &d)| j != i && c & d == c && (c != d || j < i));
        if !contained {
            cliques.push(c);
        }
    }
    cliques.sort_unstable();
    // Maximum-weight spanning tree (Prim) of the clique-intersection graph.
    let k = cliques.len();
    let mut separators = Vec::new();
    if k > 1 {
        let mut in_tree = vec![false; k];
        in_tree[0] = true;
        for _ in 1..k {
            let mut best: Option<(u32, usize)> = None;
            for i in 0..k {
                if !in_tree[i] {
                    continue;
                }
                for j in 0..k {
                    if in_tree[j] {
                        continue;
                    }
                    let w = (cliques[i] & cliques[j]).count_ones();
                    if best.is_none_or(|(bw, _)| w > bw) {
                        best = Some((w, j));
                    }
                }
            }
            let (_, j) = best?;
            in_tree[j] = true;
            let sep = (0..k)
                .filter(|&i| in_tree[i] && i != j)
                .map(|i| cliques[i] & cliques[j])
                .max_by_key(|m| m.count_ones())
                .unwrap_or(0);
            if sep != 0 {
                separators.push(sep);
            }
        }
    }
    separators.sort_unstable();
    Some((cliques, separators))
}

/// Every decomposable graph on `p` labelled vertices, in the order of their edge sets read
/// as binary numbers (edge (1,2) is the lowest bit).
///
/// # Errors
/// [`Error::InvalidParameter`] when `p` is 0 or above [`MAX_VERTICES`].
///
/// # Examples
/// ```
/// use darkfigure::bayes::graphs::decomposable_graphs;
/// assert_eq!(decomposable_graphs(3)?.len(), 8);
/// assert_eq!(decomposable_graphs(4)?.len(), 61);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn decomposable_graphs(p: usize) -> Result<Vec<DecomposableGraph>> {
    if p == 0 || p > MAX_VERTICES {
        return Err(Error::param(
            "p",
            p,
            format!("between 1 and {MAX_VERTICES} lists for exhaustive graph enumeration"),
        ));
    }
    let pairs = edge_pairs(p);
    let n_graphs: u64 = 1 << pairs.len();
    // Fixed chunks, each enumerated in order, concatenated in order: thread-independent.
    const CHUNK: u64 = 1 << 12;
    let chunks: Vec<u64> = (0..n_graphs.div_ceil(CHUNK)).collect();
    let parts: Vec<Vec<DecomposableGraph>> = chunks
        .par_iter()
        .map(|&c| {
            let mut out = Vec::new();
            let mut adj = vec![0u32; p];
            for code in c * CHUNK..((c + 1) * CHUNK).min(n_graphs) {
                adj.iter_mut().for_each(|a| *a = 0);
                for (e, &(a, b)) in pairs.iter().enumerate() {
                    if code >> e & 1 == 1 {
                        adj[a] |= 1 << b;
                        adj[b] |= 1 << a;
                    }
                }
                if let Some((cliques, separators)) = decompose(&adj) {
                    out.push(DecomposableGraph {
                        p,
                        cliques,
                        separators,
                    });
                }
            }
            out
        })
        .collect();
    Ok(parts.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_oeis() {
        let want = [1usize, 2, 8, 61, 822];
        for (p, &n) in want.iter().enumerate() {
            assert_eq!(
                decomposable_graphs(p + 1).unwrap().len(),
                n,
                "p = {}",
                p + 1
            );
        }
    }

    #[test]
    fn four_cycle_is_not_chordal_and_path_separators() {
        // 1-2-3-4-1
        let adj = [0b1010, 0b0101, 0b1010, 0b0101];
        assert!(decompose(&adj).is_none());
        // path 1-2-3: cliques {1,2},{2,3}, separator {2}
        let (c, s) = decompose(&[0b010, 0b101, 0b010]).unwrap();
        assert_eq!(c, vec![0b011, 0b110]);
        assert_eq!(s, vec![0b010]);
        // star with centre 1 and disconnected vertex 5
        let (c, s) = decompose(&[0b1110, 0b0001, 0b0001, 0b0001, 0]).unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(s, vec![1, 1]);
    }

    #[test]
    fn bad_p_is_refused() {
        assert!(decomposable_graphs(0).is_err());
        assert!(decomposable_graphs(8).is_err());
    }
}
