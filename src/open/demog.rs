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
    // Formed in place (one gradient vector per quantity kept, not per operation); each
    // entry is rounded as by the operators (see the `*_assign` methods of `Dual`).
    let i_n = pstar.len();
    let p = interc.g.len();
    let one = Dual::cst(1.0, p);
    // 1 − p*_j, in the products and in Π (1 − p*).
    let q: Vec<Dual> = pstar.iter().map(|d| d.one_minus()).collect();
    // u and v vectors, index 0 = 1.
    let mut u = Vec::with_capacity(i_n);
    let mut v = Vec::with_capacity(i_n);
    u.push(one.clone());
    v.push(one.clone());
    // The products over j = 1..i, accumulated in the same order for each i.
    let mut pu = one.clone();
    let mut pv = one.clone();
    for i in 1..i_n {
        let mut f = alpha[i_n + i - 2].exp();
        f.mul_assign(&q[i_n - i]);
        pu.mul_assign(&f);
        let mut f = alpha[i - 1].exp();
        f.mul_assign(&q[i - 1]);
        pv.mul_assign(&f);
        // 1 − e^{−α}, times the product.
        let mut tu = alpha[i_n + i - 2].clone();
        tu.scale_assign(-1.0);
        tu.exp_assign();
        tu.one_minus_assign();
        tu.lmul_assign(&pu);
        let mut tv = alpha[i - 1].clone();
        tv.scale_assign(-1.0);
        tv.exp_assign();
        tv.one_minus_assign();
        tv.lmul_assign(&pv);
        u.push(tu);
        v.push(tv);
    }
    // φ_{I−m} for m = 1..I−1, formed in that order.
    let mut phi_rev = Vec::with_capacity(i_n - 1);
    let mut cum = one.clone();
    for um in &u[1..] {
        let mut r = um / &cum;
        r.add_c_assign(1.0);
        r.rdiv_assign(&one);
        phi_rev.push(r);
        cum.add_assign(um);
    }
    let mut phi = phi_rev;
    phi.reverse();
    let mut prod_q = Dual::prod(&q, p);
    let prod_phi = Dual::prod(&phi, p);
    prod_q.mul_assign(&prod_phi);
    let mut n0 = interc.exp();
    n0.div_assign(&prod_q);
    let mut n = Vec::with_capacity(i_n);
    n.push(n0);
    let mut cumv = one;
    for i in 2..=i_n {
        let mut f = v[i - 1].clone();
        f.div_assign(&cumv);
        f.add_c_assign(1.0);
        let mut next = n[i - 2].clone();
        next.mul_assign(&phi[i - 2]);
        next.mul_assign(&f);
        n.push(next);
        cumv.add_assign(&v[i - 1]);
    }
    Demography { pstar, phi, n }
}
