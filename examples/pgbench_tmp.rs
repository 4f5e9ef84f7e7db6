use aludel::prelude::*;
#[derive(Model, Debug, Clone)]
#[aludel(table = "bench_user")]
struct BenchUser {
    #[aludel(primary_key)]
    id: i64,
    name: String,
}
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::args().nth(1).unwrap();
    let db = Database::connect(&uri).await?;
    db.create_all().await?;
    let mut s = db.session();
    let a = s.add(BenchUser {
        id: 0,
        name: "x".into(),
    });
    s.commit().await?;
    let id = a.key().unwrap();
    for round in 0..3 {
        let n = 5000;
        let t = std::time::Instant::now();
        for _ in 0..n {
            let mut s = db.session();
            s.get::<BenchUser>(id).await?;
        }
        let get = t.elapsed() / n;
        let t = std::time::Instant::now();
        for i in 0..1000 {
            let mut s = db.session();
            s.add(BenchUser {
                id: 0,
                name: format!("{round}-{i}"),
            });
            s.commit().await?;
        }
        let commit = t.elapsed() / 1000;
        println!("get {get:?}  add+commit {commit:?}");
    }
    db.drop_all().await?;
    Ok(())
}
