//! The server while runs are in flight, in-process: what [`Server::receive`] answers at once,
//! which runs it starts or refuses (5.03 with Max-Age), and that one peer can neither take
//! every run or upload slot nor drop another peer's upload.

use trevm_coap::message::{code, opt};
use trevm_coap::server::{ExchangeId, Handled, Received, Request, Resources, Response, Run};
use trevm_coap::{BlockOpt, Message, MsgType, Server, ServerLimits};

type Peer = &'static str;

/// `GET /slow` is a run that never ends by itself (the test completes it); `PUT /up/<x>` says
/// how many bytes it got.
struct Slow;

impl Resources for Slow {
    fn handle(&mut self, request: Request<'_>) -> Handled {
        match (request.code, request.path.as_slice()) {
            (code::GET, ["slow"]) => Handled::Later(Run::new(core::future::pending())),
            (code::PUT, ["up", _]) => Response::text(
                code::CHANGED,
                format!("got {} bytes", request.payload.len()),
            )
            .into(),
            _ => Response::empty(code::NOT_FOUND).into(),
        }
    }
    fn links(&self) -> Vec<String> {
        vec!["</slow>".into()]
    }
}

fn server(limits: ServerLimits) -> Server<Peer, Slow> {
    Server::new(Slow, limits)
}

fn request(mid: u16, c: u8, path: &[&str]) -> Message {
    Message::request(c, mid, path)
}

fn reply(r: Received) -> Message {
    match r {
        Received::Reply(bytes) => Message::parse(&bytes).expect("a well-formed reply"),
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn started(r: Received) -> ExchangeId {
    match r {
        Received::Started(id, _run) => id,
        other => panic!("expected a started run, got {other:?}"),
    }
}

fn text(m: &Message) -> String {
    String::from_utf8_lossy(&m.payload).into_owned()
}

#[test]
fn static_requests_are_answered_while_runs_are_in_flight_and_runs_reply_when_they_end() {
    let mut s = server(ServerLimits::default());
    let slow = request(1, code::GET, &["slow"]);
    let id = started(s.receive(&"a", &slow.encode(), 0));
    assert_eq!(s.runs_in_flight(), 1);

    // Another client's static request is answered at once.
    let links = reply(s.receive(
        &"b",
        &request(7, code::GET, &[".well-known", "core"]).encode(),
        1,
    ));
    assert_eq!(
        (links.code, text(&links)),
        (code::CONTENT, "</slow>".into())
    );

    // A retransmission of the running request is not started again, nor answered yet.
    assert!(matches!(
        s.receive(&"a", &slow.encode(), 2),
        Received::Nothing
    ));
    assert_eq!(s.runs_in_flight(), 1);

    // The run ends: its reply goes to its peer, piggybacked on the ACK of its message.
    let (peer, bytes) = s
        .complete(id, Response::text(code::CONTENT, "done"), 3)
        .expect("the exchange is in flight");
    let done = Message::parse(&bytes).unwrap();
    assert_eq!(peer, "a");
    assert_eq!(
        (
            done.ty,
            done.mid,
            done.token.clone(),
            done.code,
            text(&done)
        ),
        (
            MsgType::Ack,
            1,
            slow.token.clone(),
            code::CONTENT,
            "done".into()
        )
    );
    assert_eq!(s.runs_in_flight(), 0);
    // A retransmission now gets the same reply from the duplicate cache.
    assert_eq!(reply(s.receive(&"a", &slow.encode(), 4)), done);
    assert!(s.complete(id, Response::empty(code::CONTENT), 5).is_none());
}

#[test]
fn runs_are_bounded_per_peer_and_in_all_with_5_03_and_max_age() {
    let limits = ServerLimits {
        runs: 3,
        runs_per_peer: 2,
        ..Default::default()
    };
    let mut s = server(limits);
    let get = |mid| request(mid, code::GET, &["slow"]).encode();
    let a1 = started(s.receive(&"a", &get(1), 0));
    started(s.receive(&"a", &get(2), 0));
    let busy = reply(s.receive(&"a", &get(3), 0));
    assert_eq!(busy.code, code::SERVICE_UNAVAILABLE);
    assert_eq!(busy.uint_option(opt::MAX_AGE), Some(1));
    assert!(text(&busy).contains("this client"), "{}", text(&busy));

    // Another peer still gets a run while the first holds its share…
    started(s.receive(&"b", &get(1), 0));
    // …until the device is full.
    let busy = reply(s.receive(&"c", &get(1), 0));
    assert_eq!(busy.code, code::SERVICE_UNAVAILABLE);
    assert!(text(&busy).contains("the device"), "{}", text(&busy));

    // A slot frees when a run ends.
    s.complete(a1, Response::empty(code::CONTENT), 1).unwrap();
    started(s.receive(&"c", &get(2), 1));
}

/// Block `num` of a 3-block (16-byte blocks) upload to `/up/<name>`.
fn block(mid: u16, name: &str, num: u32) -> Vec<u8> {
    let mut m = request(mid, code::PUT, &["up", name]);
    let more = num < 2;
    m.add_uint_option(opt::BLOCK1, BlockOpt { num, more, szx: 0 }.to_uint());
    m.payload = vec![b'x'; if more { 16 } else { 5 }];
    m.encode()
}

#[test]
fn uploads_are_per_peer_and_another_peer_cannot_drop_yours() {
    let limits = ServerLimits {
        uploads: 4,
        uploads_per_peer: 2,
        ..Default::default()
    };
    let mut s = server(limits);
    let continues = |m: Message| assert_eq!(m.code, code::CONTINUE, "{}", text(&m));
    continues(reply(s.receive(&"a", &block(1, "mine", 0), 0)));

    // Peer b starts five uploads: it only ever holds two slots, replacing its own oldest.
    for (i, name) in ["b1", "b2", "b3", "b4", "b5"].into_iter().enumerate() {
        continues(reply(s.receive(&"b", &block(10 + i as u16, name, 0), 0)));
    }
    // Its first uploads are gone…
    let gone = reply(s.receive(&"b", &block(20, "b1", 1), 0));
    assert_eq!(gone.code, code::REQUEST_ENTITY_INCOMPLETE);
    // …but a's is intact and completes.
    continues(reply(s.receive(&"a", &block(2, "mine", 1), 0)));
    let done = reply(s.receive(&"a", &block(3, "mine", 2), 0));
    assert_eq!(
        (done.code, text(&done)),
        (code::CHANGED, "got 37 bytes".into())
    );

    // Slots: b holds two, c and d one each: the device is full, and e gets 5.03 with Max-Age…
    continues(reply(s.receive(&"c", &block(1, "c", 0), 0)));
    continues(reply(s.receive(&"d", &block(1, "d", 0), 0)));
    let busy = reply(s.receive(&"e", &block(1, "e", 0), 0));
    assert_eq!(busy.code, code::SERVICE_UNAVAILABLE);
    assert_eq!(busy.uint_option(opt::MAX_AGE), Some(1));
    // …while the others go on.
    continues(reply(s.receive(&"c", &block(2, "c", 1), 5_000)));
    // Once an upload has been idle long enough, its slot may go to someone else.
    let later = trevm_coap::server::UPLOAD_IDLE_MS + 1;
    continues(reply(s.receive(&"e", &block(2, "e", 0), later)));
    // c's upload (active at 5 s) is still there.
    let c_done = reply(s.receive(&"c", &block(3, "c", 2), later));
    assert_eq!(c_done.code, code::CHANGED, "{}", text(&c_done));
}
