use darkfigure::counts::{CountModel, Family};
use darkfigure::data::{CountData, CovariateValues};
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal, Poisson};
use rand_xoshiro::Xoshiro256PlusPlus;
#[test]
fn probe() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let norm = Normal::new(0.0, 1.0).unwrap();
    let n = 1_000_000;
    let (mut y, mut x1, mut x2) = (vec![], vec![], vec![]);
    while y.len() < n {
        let a: f64 = norm.sample(&mut rng);
        let b: f64 = rng.random::<f64>();
        let k = Poisson::new((-0.3 + 0.4 * a - 0.6 * b).exp())
            .unwrap()
            .sample(&mut rng) as u64;
        if k > 0 {
            y.push(k);
            x1.push(a);
            x2.push(b);
        }
    }
    let d = CountData::new(y)
        .unwrap()
        .with_covariate("x1", CovariateValues::Numeric(x1))
        .unwrap()
        .with_covariate("x2", CovariateValues::Numeric(x2))
        .unwrap();
    let t = std::time::Instant::now();
    let f = CountModel::params(Family::ZtPoisson)
        .covariates(&["x1", "x2"])
        .fit(&d)
        .unwrap();
    println!("{:?} {:?} {:?}", t.elapsed(), f.stop, f.coefficients);
}
