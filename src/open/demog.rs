//! The demographic parameters of the log-linear Jolly-Seber model (Rivest & Daigle
//! 2004), shared by `openp` and the robust design, with delta-method derivatives.

use super::dual::Dual;

/// Demographic quantities as dual numbers (value + gradient in coefficient space).
pub(crate) struct Demography {
    pub pstar: Vec<Dual>,
    pub phi: Vec<Dual>,
    pub n: Vec<Dual>,
}

/// Computes survivals, abundances and births from the intercept, the 2I − 2 gamma
/// parameters and the per-period capture probabilities p*_i.
///
/// ```text
/// u_i = Π_{j=1..i} e^{γ_{I+j−1}} (1 − p*_{I−j+1}) · (1 − e^{−γ_{I+i−1}}),  u_0 = 1
/// v_i = Π_{j=1..i} e^{γ_j} (1 − p*_j) · (1 − e^{−γ_i}),                  v_0 = 1
/// φ_{I−m} = 1 / (1 + u_m / Σ_{l<m} u_l)
/// N_1 = e^{μ} / (Π (1 − p*_j) Π φ_k),  N_i = N_{i−1} φ_{i−1} (1 + v_{i−1} / Σ_{l<i−1} v_l)
/// ```
pub(crate) fn demography(interc: &Dual, alpha: &[Dual], pstar: Vec<Dual>) -> Demography {
    let i_n = pstar.len();
    let p = interc.g.len();
    let one = Dual::cst(1.0, p);
    // u and v vectors, index 0 = 1.
    let mut u = vec![one.clone()];
    let mut v = vec![one.clone()];
    // The products over j = 1..i, accumulated in the same order for each i.
    let mut pu = one.clone();
    let mut pv = one.clone();
    for i in 1..i_n {
        pu = &pu * &(&alpha[i_n + i - 2].exp() * &pstar[i_n - i].one_minus());
        pv = &pv * &(&alpha[i - 1].exp() * &pstar[i - 1].one_minus());
        let tu = (-&alpha[i_n + i - 2]).exp().one_minus();
        let tv = (-&alpha[i - 1]).exp().one_minus();
        u.push(&pu * &tu);
        v.push(&pv * &tv);
    }
    let mut phi = vec![one.clone(); i_n - 1];
    let mut cum = one.clone();
    for m in 1..i_n {
        let ratio = &u[m] / &cum;
        phi[i_n - m - 1] = &one / &ratio.add_c(1.0);
        cum = &cum + &u[m];
    }
    let prod_q = Dual::prod(&pstar.iter().map(|d| d.one_minus()).collect::<Vec<_>>(), p);
    let prod_phi = Dual::prod(&phi, p);
    let mut n = vec![&interc.exp() / &(&prod_q * &prod_phi)];
    let mut cumv = one.clone();
    for i in 2..=i_n {
        let f = (&v[i - 1] / &cumv).add_c(1.0);
        let next = &(&n[i - 2] * &phi[i - 2]) * &f;
        n.push(next);
        cumv = &cumv + &v[i - 1];
    }
    Demography { pstar, phi, n }
}
