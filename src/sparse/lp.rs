//! A small dense two-phase simplex (Bland's rule) and a rank routine, enough for the
//! existence and identifiability checks of [`super::check_identifiability`].

/// Pivot tolerance of the simplex tableau (entries are O(1): the right-hand side is
/// scaled to sum to one).
const PIVOT_EPS: f64 = 1e-11;

/// Solves `max cᵀx` subject to `A x = b`, `x ≥ 0`, with `b ≥ 0`, by the two-phase
/// tableau simplex with Bland's anti-cycling rule. `a` is row-major `rows × cols`.
/// Returns the optimal objective, or `None` when the problem is infeasible or
/// unbounded (neither happens for the existence LP, which is feasible and bounded).
pub(crate) fn maximize(c: &[f64], a: &[f64], b: &[f64], rows: usize, cols: usize) -> Option<f64> {
    // Tableau columns: original (cols), artificial (rows), rhs.
    let width = cols + rows + 1;
    let rhs = width - 1;
    let mut t = vec![0.0; rows * width];
    for r in 0..rows {
        for j in 0..cols {
            t[r * width + j] = a[r * cols + j];
        }
        t[r * width + cols + r] = 1.0;
        t[r * width + rhs] = b[r];
    }
    let mut basis: Vec<usize> = (cols..cols + rows).collect();
    let mut active = vec![true; rows];

    // Phase 1: minimise the sum of artificials; cost row d_j = c_j − c_Bᵀ B⁻¹ A_j.
    let mut cost = vec![0.0; width];
    for r in 0..rows {
        for j in 0..cols {
            cost[j] -= t[r * width + j];
        }
        cost[rhs] -= t[r * width + rhs];
    }
    run(&mut t, &mut cost, &mut basis, &active, width, cols + rows)?;
    if -cost[rhs] > 1e-9 {
        return None;
    }
    // Drive artificials out of the basis; rows where that is impossible are redundant.
    for r in 0..rows {
        if basis[r] >= cols {
            match (0..cols).find(|&j| t[r * width + j].abs() > 1e-9) {
                Some(j) => pivot(&mut t, &mut cost, &mut basis, r, j, width, rows),
                None => active[r] = false,
            }
        }
    }
    // Phase 2: minimise −cᵀx over the original columns only.
    let mut cost = vec![0.0; width];
    for j in 0..cols {
        cost[j] = -c[j];
    }
    for r in 0..rows {
        if !active[r] {
            continue;
        }
        let cb = if basis[r] < cols { -c[basis[r]] } else { 0.0 };
        if cb != 0.0 {
            for j in 0..width {
                cost[j] -= cb * t[r * width + j];
            }
        }
    }
    run(&mut t, &mut cost, &mut basis, &active, width, cols)?;
    Some(cost[rhs])
}

/// Simplex iterations on the tableau with entering columns restricted to `< ncand`.
fn run(
    t: &mut [f64],
    cost: &mut [f64],
    basis: &mut [usize],
    active: &[bool],
    width: usize,
    ncand: usize,
) -> Option<()> {
    let rows = basis.len();
    let rhs = width - 1;
    for _ in 0..50_000 {
        // Bland: the lowest-index column with a negative reduced cost enters.
        let Some(e) = (0..ncand).find(|&j| cost[j] < -PIVOT_EPS) else {
            return Some(());
        };
        let mut best: Option<(usize, f64)> = None;
        for r in 0..rows {
            if !active[r] {
                continue;
            }
            let v = t[r * width + e];
            if v > PIVOT_EPS {
                let ratio = t[r * width + rhs] / v;
                best = match best {
                    None => Some((r, ratio)),
                    Some((br, bv)) => {
                        if ratio < bv - 1e-14 || (ratio <= bv + 1e-14 && basis[r] < basis[br]) {
                            Some((r, ratio))
                        } else {
                            Some((br, bv))
                        }
                    }
                };
            }
        }
        let (r, _) = best?; // unbounded
        pivot(t, cost, basis, r, e, width, rows);
    }
    None
}

fn pivot(
    t: &mut [f64],
    cost: &mut [f64],
    basis: &mut [usize],
    r: usize,
    e: usize,
    width: usize,
    rows: usize,
) {
    let pv = t[r * width + e];
    for j in 0..width {
        t[r * width + j] /= pv;
    }
    let (before, rest) = t.split_at_mut(r * width);
    let (prow, after) = rest.split_at_mut(width);
    let eliminate = |row: &mut [f64]| {
        let f = row[e];
        if f != 0.0 {
            for j in 0..width {
                row[j] -= f * prow[j];
            }
            row[e] = 0.0;
        }
    };
    for row in before.chunks_mut(width) {
        eliminate(row);
    }
    for row in after.chunks_mut(width) {
        eliminate(row);
    }
    eliminate(cost);
    let _ = rows;
    basis[r] = e;
}

/// Column rank of a row-major `rows × cols` matrix by Gaussian elimination with
/// partial pivoting (entries here are 0/1, so a fixed tolerance is safe).
pub(crate) fn rank(a: &[f64], rows: usize, cols: usize) -> usize {
    let mut m = a.to_vec();
    let mut rank = 0;
    for c in 0..cols {
        if rank == rows {
            break;
        }
        let (piv, val) = (rank..rows)
            .map(|r| (r, m[r * cols + c].abs()))
            .fold((rank, 0.0), |acc, x| if x.1 > acc.1 { x } else { acc });
        if val < 1e-9 {
            continue;
        }
        for j in 0..cols {
            m.swap(rank * cols + j, piv * cols + j);
        }
        let p = m[rank * cols + c];
        for r in rank + 1..rows {
            let f = m[r * cols + c] / p;
            if f != 0.0 {
                for j in c..cols {
                    m[r * cols + j] -= f * m[rank * cols + j];
                }
            }
        }
        rank += 1;
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_lp() {
        // max x1 + x2 s.t. x1 + 2 x2 + x3 = 4, 3 x1 + x2 + x4 = 6.  Optimum x1 = 1.6, x2 = 1.2.
        let a = [1.0, 2.0, 1.0, 0.0, 3.0, 1.0, 0.0, 1.0];
        let v = maximize(&[1.0, 1.0, 0.0, 0.0], &a, &[4.0, 6.0], 2, 4).unwrap();
        assert!((v - 2.8).abs() < 1e-12);
        // Redundant equality rows are tolerated.
        let a = [1.0, 1.0, 2.0, 2.0];
        let v = maximize(&[1.0, 0.0], &a, &[1.0, 2.0], 2, 2).unwrap();
        assert!((v - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rank_of_dependent_columns() {
        let a = [1.0, 0.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0];
        assert_eq!(rank(&a, 3, 3), 2);
    }
}
