use aludel::prelude::*;
#[derive(Model, Debug, Clone)]
#[aludel(table = "bench_user")]
struct BenchUser { #[aludel(primary_key)] id: i64, name: String }
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::args().nth(1).unwrap();
    let db = Database::connect(&uri).await?;
    db.create_all().await?;
    let mut id = 0;
    for round in 0..3 {
        eprintln!("MARK commit {round}");
        let mut s = db.session();
        let a = s.add(BenchUser { id: 0, name: format!("r{round}-a") });
        s.add(BenchUser { id: 0, name: format!("r{round}-b") });
        s.commit().await?;
        id = a.key().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for round in 0..2 {
        eprintln!("MARK get {round}");
        let mut s = db.session(); s.get::<BenchUser>(id).await?;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    eprintln!("MARK get after idle");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let mut s = db.session(); s.get::<BenchUser>(id).await?;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    eprintln!("MARK flush+update+commit");
    let mut s = db.session(); s.add(BenchUser { id: 0, name: "f".into() }); s.flush().await?; s.commit().await?;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    eprintln!("MARK drop session in tx");
    { let mut s = db.session(); s.add(BenchUser { id: 0, name: "g".into() }); s.flush().await?; }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    eprintln!("MARK next get");
    let mut s = db.session(); s.get::<BenchUser>(id).await?;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    eprintln!("MARK end");
    db.drop_all().await?;
    Ok(())
}
