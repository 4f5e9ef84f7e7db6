//! `#[aludel(table = "...")]` replaces the snake-case name; without it the name
//! follows Flask-SQLAlchemy (`HTTPResponse` -> `http_response`).
use aludel::Model;

#[derive(Model)]
#[aludel(table = "people")]
struct Person {
    id: i64,
}

#[derive(Model)]
struct HTTPResponse {
    id: i64,
}

#[derive(Model)]
struct OAuth2Token {
    id: i64,
}

fn main() {
    assert_eq!(Person::TABLE.name, "people");
    assert_eq!(HTTPResponse::TABLE.name, "http_response");
    assert_eq!(OAuth2Token::TABLE.name, "o_auth2_token");
}
