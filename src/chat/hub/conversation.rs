//! One client's side of the chat ([`Conversation`]), run on that client's
//! own thread: its login, token, failed logins and file transfer, and its
//! answers to every action. What it shares with the other clients it
//! reaches through the [`Hub`].
//!
//! Why one long file: every action the server answers is here, one method
//! each, so a reader looking for what the server does with an action finds
//! it in one place.

// The hub's items and the names it imports: a conversation is the hub's
// other half, and may use its private parts.
use super::*;
use crate::chat::transfer::CHUNK_BYTES;
use chrono::Utc;

/// Whether the conversation goes on after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep reading messages.
    Continue,
    /// The client said `/qqq`: it was answered `bye`; close the session
    /// cleanly (step 17).
    Close,
    /// Disconnect this client at once, with `(EE,429,...)` (too many
    /// failed logins).
    Disconnect,
}

/// One client's side of the chat, on that client's thread.
pub struct Conversation<'a> {
    hub: &'a Hub,
    link: Arc<Link>,
    /// The client's public key from the EC packet, if secured: its PEM
    /// text and its fingerprint.
    client_key: Option<(String, String)>,
    /// The logged-in name and its token.
    login: Option<(String, String)>,
    /// The client's IP address, for the per-address limits.
    address: IpAddr,
    /// The client's address and port, for the server's log lines
    /// ([`Conversation::from_peer`]; the IP address alone until then).
    peer: String,
    /// Whatever holds this connection's place among those not logged in
    /// yet ([`Conversation::holding`]); dropped at login.
    admission: Option<Box<dyn Send + 'a>>,
    failed_logins: u32,
    next_login_at: Option<Instant>,
    closing: bool,
    files: FileReceiver,
    /// Who the file being received is for, when it goes to people.
    sharing: Option<ShareWith>,
}

impl std::fmt::Debug for Conversation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversation")
            .field("user", &self.login.as_ref().map(|(name, _)| name))
            .field("failed_logins", &self.failed_logins)
            .finish_non_exhaustive()
    }
}

impl<'a> Conversation<'a> {
    /// Start the conversation of a client whose session runs over `link`.
    /// `client_key` is the PEM text and fingerprint of the client key from
    /// its EC packet (`None` when unsecured); files go to `files`;
    /// `address` is the client's IP address (its failed logins and new
    /// accounts are counted per address).
    pub fn new(
        hub: &'a Hub,
        link: Arc<Link>,
        client_key: Option<(String, String)>,
        files: FileReceiver,
        address: IpAddr,
    ) -> Conversation<'a> {
        Conversation {
            hub,
            link,
            client_key,
            login: None,
            address,
            peer: address.to_string(),
            admission: None,
            failed_logins: 0,
            next_login_at: None,
            closing: false,
            files,
            sharing: None,
        }
    }

    /// Hold `place` (the server's place for a connection not logged in
    /// yet) until the client logs in: it is dropped just before `welcome`
    /// is queued, so a client that has read its `welcome` no longer counts
    /// against [`crate::chat::server::ServerConfig::max_unauthenticated`].
    pub fn holding(mut self, place: impl Send + 'a) -> Conversation<'a> {
        self.admission = Some(Box::new(place));
        self
    }

    /// Name the client by its address and port, `peer`, in the log lines
    /// (logins, joins, leaves, files), as the server's other lines do.
    pub fn from_peer(mut self, peer: std::net::SocketAddr) -> Conversation<'a> {
        self.peer = peer.to_string();
        self
    }

    /// The logged-in username, if any.
    pub fn username(&self) -> Option<&str> {
        self.login.as_ref().map(|(name, _)| name.as_str())
    }

    /// Handle one message from the client: answer it (on the client's own
    /// link) and fan out whatever it says to others.
    ///
    /// A bad message never ends the conversation: it gets an `error`
    /// answer. Only `/qqq` ([`Next::Close`]) and the last allowed failed
    /// login ([`Next::Disconnect`]) do; a full queue ends it from the link
    /// (`EE 503`).
    pub fn handle(&mut self, message: &[u8]) -> Next {
        let (envelope, attachment) = match decode(message) {
            Ok(decoded) => decoded,
            Err(error) => {
                self.reply(answer_error(&error));
                return Next::Continue;
            }
        };
        let (answer, next) = match self.dispatch(&envelope, attachment) {
            Ok(answer) if self.closing => (answer, Next::Close),
            Ok(answer) => (answer, Next::Continue),
            Err(error) => {
                let next = if self.failed_logins >= MAX_FAILED_LOGINS {
                    Next::Disconnect
                } else {
                    Next::Continue
                };
                (Some(answer_error(&error)), next)
            }
        };
        // The last failed login is answered by the server's (EE,429,...)
        // alone, as it disconnects.
        if let Some(answer) = answer.filter(|_| next != Next::Disconnect) {
            self.reply(answer);
        }
        next
    }

    /// Send an answer to this client. An answer too large for one message
    /// (a custom handler's, say) becomes an `error` 413, so the client is
    /// never left waiting.
    fn reply(&self, envelope: Envelope) {
        match self.link.try_send(encode(&envelope, b"")) {
            Err(error @ Error::MessageTooLarge(_)) => {
                deliver(&self.link, encode(&Envelope::error(&error), b""))
            }
            Err(error @ Error::QueueFull(_)) => self.link.abort(error),
            _ => {}
        }
    }

    /// Work out the answer to one envelope (`None`: no answer, e.g. a
    /// room message, whose answer is the fan-out itself).
    fn dispatch(&mut self, envelope: &Envelope, attachment: &[u8]) -> Result<Option<Envelope>> {
        let action = envelope.action.as_str();
        let Some((username, token)) = self.login.clone() else {
            return match action {
                "login" => self.login(&envelope.data).map(|()| None),
                // The link check: before login, echo a plain-text message.
                "message" if envelope.data.is_string() => {
                    Ok(Some(Envelope::new("message", envelope.data.clone())))
                }
                _ => Err(Error::Unauthorized(format!(
                    "log in first (send login with a username and password); got {}",
                    shown(action)
                ))),
            };
        };
        if !envelope
            .token
            .as_deref()
            .is_some_and(|sent| same_secret(sent.as_bytes(), token.as_bytes()))
        {
            return Err(Error::Unauthorized(
                "this envelope's token is missing or is not this session's".into(),
            ));
        }
        match action {
            "login" => Err(Error::Conflict(format!("already logged in as {username}"))),
            "message" => self.say(&username, envelope).map(|()| None),
            "command" => {
                let line = envelope.data.as_str().ok_or_else(|| {
                    Error::BadMessage("command data is the command line, e.g. \"join rust\"".into())
                })?;
                self.command(&username, Command::parse(line)?).map(|()| None)
            }
            "CoreClients" => Ok(Some(self.clients())),
            "CoreKey" => self.key_of(&envelope.data).map(Some),
            "direct" => self.direct(&username, envelope).map(Some),
            "file-start" | "file-chunk" | "file-end" => {
                Ok(self.file(&username, action, &envelope.data, attachment))
            }
            "file-get" => self.fetch(&username, &envelope.data).map(Some),
            _ => self.custom(&username, action, &envelope.data, attachment),
        }
    }

    /// `login`: check the account (slowly, without the hub's lock), then
    /// join the hub and the lobby, and queue `welcome` before anyone can
    /// speak to the new member.
    fn login(&mut self, data: &Value) -> Result<()> {
        if let Some(at) = self.next_login_at {
            let now = Instant::now();
            if now < at {
                return Err(Error::TooManyAttempts(format!(
                    "{} failed logins; wait {} ms before the next",
                    self.failed_logins,
                    (at - now).as_millis()
                )));
            }
        }
        let login: Login = serde_json::from_value(data.clone()).map_err(|e| {
            Error::BadMessage(format!("login data is {{\"username\",\"password\"}}: {e}"))
        })?;
        validate_name("username", &login.username)?;
        if login.password.len() < MIN_PASSWORD_BYTES || login.password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::Usage(format!(
                "a password is {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes long"
            )));
        }
        let creating = !self.hub.accounts.contains(&login.username);
        if creating && login.create == Some(false) {
            // Before any hash or reservation: nothing is created or stored.
            return Err(Error::NotFound(format!(
                "no account {}; this login asked not to create one (\"create\": false)",
                shown(&login.username)
            )));
        }
        if creating {
            validate_new_username(&login.username)?;
        }
        // Reserved before the hash runs, so parallel guesses are counted.
        let attempt = self.hub.begin_attempt(&login.username, self.address, creating)?;
        let result = self.hub.accounts.login_as(&login.username, &login.password);
        let wrong_password = matches!(result, Err(Error::Unauthorized(_)));
        attempt.finish(wrong_password);
        let peer = &self.peer;
        let (username, outcome) = match result {
            Ok(done) => done,
            Err(error) => {
                let name = shown(&login.username);
                log::info!("{peer}: login as {name} refused: {error}");
                if wrong_password {
                    // Never reset on this connection: a successful login
                    // in between buys no new tries.
                    self.failed_logins += 1;
                    let doublings = self.failed_logins.saturating_sub(1).min(16);
                    let wait = self.hub.login_backoff.saturating_mul(1 << doublings);
                    self.next_login_at = Instant::now().checked_add(wait);
                }
                return Err(error);
            }
        };
        let token = hex::encode(os_rng().random::<[u8; 16]>());
        let key = self.client_key.clone().map(|(public_key, fingerprint)| KeyInfo {
            username: username.clone(),
            public_key,
            fingerprint,
        });
        let hub = self.hub;
        let mut state = hub.lock();
        if state.closing {
            return Err(Error::ServerFull("the server is shutting down".into()));
        }
        if state.members.contains_key(&username) {
            return Err(Error::Conflict(format!(
                "{} is already logged in on another connection (a connection that \
                 died is noticed within the idle timeout)",
                username
            )));
        }
        state.members.insert(
            username.clone(),
            Member {
                link: Arc::clone(&self.link),
                rooms: BTreeSet::from([LOBBY.to_string()]),
                current: Some(LOBBY.to_string()),
                key,
            },
        );
        state.rooms.entry(LOBBY.to_string()).or_default().insert(username.clone());
        state.notice(LOBBY, &username, "joined");
        let how = match outcome {
            LoginOutcome::Created => "a new account",
            LoginOutcome::Existing => "an existing account",
        };
        log::info!("{peer}: logged in as {username} ({how}), joined #lobby");
        self.next_login_at = None;
        self.admission = None;
        self.login = Some((username.clone(), token.clone()));
        self.reply(event(
            "welcome",
            &Welcome {
                username,
                token,
                room: LOBBY.to_string(),
                created: outcome == LoginOutcome::Created,
            },
        ));
        Ok(())
    }

    /// `message`: say something in a room the sender is in.
    fn say(&self, username: &str, envelope: &Envelope) -> Result<()> {
        let say: Say = match &envelope.data {
            Value::String(text) => Say { room: None, text: text.clone() },
            data => serde_json::from_value(data.clone()).map_err(|e| {
                Error::BadMessage(format!("message data is {{\"room\",\"text\"}} or a string: {e}"))
            })?,
        };
        if say.text.len() > MAX_TEXT_BYTES {
            return Err(Error::MessageTooLarge(format!(
                "a chat message is at most {MAX_TEXT_BYTES} bytes, this one {}",
                say.text.len()
            )));
        }
        let state = self.hub.lock();
        let member = state
            .members
            .get(username)
            .ok_or_else(|| Error::Unauthorized("not logged in".into()))?;
        let room = match say.room.or_else(|| member.current.clone()) {
            Some(room) => room,
            None => {
                return Err(Error::Forbidden("you are in no room: /join one first".into()));
            }
        };
        if !member.rooms.contains(&room) {
            return Err(Error::Forbidden(format!(
                "you are not in room {}; /join it first",
                shown(&room)
            )));
        }
        let message = RoomMessage {
            room: room.clone(),
            from: username.to_string(),
            text: say.text,
            sent: envelope.time,
        };
        state.fan_out(&room, &event("message", &message), None);
        Ok(())
    }

    /// `command`: the room commands and `/qqq`. The answer is queued while
    /// the hub is locked, so it comes before any message of a room just
    /// joined.
    fn command(&mut self, username: &str, command: Command) -> Result<()> {
        let hub = self.hub;
        let mut guard = hub.lock();
        let answer = self.run_command(&mut guard, username, command)?;
        self.reply(answer);
        Ok(())
    }

    fn run_command(
        &mut self,
        state: &mut HubState,
        username: &str,
        command: Command,
    ) -> Result<Envelope> {
        let room_count = state.rooms.len();
        let member = state
            .members
            .get_mut(username)
            .ok_or_else(|| Error::Unauthorized("not logged in".into()))?;
        let room_limit = |member: &Member| {
            if member.rooms.len() >= MAX_ROOMS_PER_USER {
                Err(Error::Forbidden(format!(
                    "you are in {MAX_ROOMS_PER_USER} rooms, the most allowed; /leave one first"
                )))
            } else {
                Ok(())
            }
        };
        match command {
            Command::Create(room) => {
                if state.rooms.contains_key(&room) {
                    return Err(Error::Conflict(format!("room {room} exists; /join {room}")));
                }
                if room_count >= MAX_ROOMS {
                    return Err(Error::ServerFull(format!(
                        "the server has {MAX_ROOMS} rooms, the most it keeps"
                    )));
                }
                room_limit(member)?;
                member.rooms.insert(room.clone());
                member.current = Some(room.clone());
                state.rooms.insert(room.clone(), BTreeSet::from([username.to_string()]));
                log::info!("{}: {username} created and joined #{room}", self.peer);
                let users = state.users(&room);
                Ok(event("joined", &RoomUsers { room, users }))
            }
            Command::Join(room) => {
                let Some(names) = state.rooms.get_mut(&room) else {
                    return Err(Error::NotFound(format!(
                        "no room {room}; /create {room} makes it"
                    )));
                };
                if !member.rooms.contains(&room) {
                    room_limit(member)?;
                }
                let new = names.insert(username.to_string());
                member.rooms.insert(room.clone());
                member.current = Some(room.clone());
                if new {
                    state.notice(&room, username, "joined");
                    log::info!("{}: {username} joined #{room}", self.peer);
                }
                let users = state.users(&room);
                Ok(event("joined", &RoomUsers { room, users }))
            }
            Command::Leave(room) => {
                let room = room
                    .or_else(|| member.current.clone())
                    .ok_or_else(|| Error::NotFound("you are in no room to leave".into()))?;
                if !member.rooms.remove(&room) {
                    return Err(Error::NotFound(format!("you are not in room {room}")));
                }
                if member.current.as_deref() == Some(room.as_str()) {
                    // Back to the lobby if still in it, else any room.
                    member.current =
                        member.rooms.get(LOBBY).or_else(|| member.rooms.iter().next()).cloned();
                }
                let current = member.current.clone();
                state.leave_room(username, &room);
                log::info!("{}: {username} left #{room}", self.peer);
                Ok(event("left", &Left { room, current }))
            }
            Command::Rooms => {
                let rooms: Vec<RoomInfo> = state
                    .rooms
                    .iter()
                    .map(|(room, names)| RoomInfo { room: room.clone(), users: names.len() })
                    .collect();
                Ok(event("rooms", &rooms))
            }
            Command::Who(room) => {
                let room = room
                    .or_else(|| member.current.clone())
                    .ok_or_else(|| Error::NotFound("you are in no room: /who NAME".into()))?;
                if !state.rooms.contains_key(&room) {
                    return Err(Error::NotFound(format!("no room {room}")));
                }
                let users = state.users(&room);
                Ok(event("who", &RoomUsers { room, users }))
            }
            Command::Quit => {
                state.remove(username);
                self.login = None;
                self.closing = true;
                Ok(Envelope::new("bye", json!({"username": username})))
            }
        }
    }

    /// `CoreClients`: everyone connected (seed 002's Core example).
    fn clients(&self) -> Envelope {
        let state = self.hub.lock();
        let clients: Vec<ClientInfo> = state
            .members
            .iter()
            .map(|(name, member)| ClientInfo {
                username: name.clone(),
                rooms: member.rooms.iter().cloned().collect(),
                fingerprint: member.key.as_ref().map(|k| k.fingerprint.clone()),
            })
            .collect();
        event("clients", &clients)
    }

    /// `CoreKey`: a connected user's public key, for a direct message.
    fn key_of(&self, data: &Value) -> Result<Envelope> {
        let username = data
            .get("username")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::BadMessage("CoreKey data is {\"username\"}".into()))?;
        let state = self.hub.lock();
        let member = state
            .members
            .get(username)
            .ok_or_else(|| Error::NotFound(format!("{} is not connected", shown(username))))?;
        let key = member.key.as_ref().ok_or_else(|| {
            Error::NotFound(format!(
                "{username} has no public key (an unsecured session sends none)"
            ))
        })?;
        Ok(event("key", key))
    }

    /// `direct`: relay an end-to-end sealed message, unread.
    fn direct(&self, username: &str, envelope: &Envelope) -> Result<Envelope> {
        let out: DirectOut = serde_json::from_value(envelope.data.clone()).map_err(|e| {
            Error::BadMessage(format!("direct data is {{\"to\",\"key\",\"sealed\"}}: {e}"))
        })?;
        // At most a chat message's text: base64 of nonce (16), tag (16)
        // and MAX_TEXT_BYTES of ciphertext; an RSA-4096 key's ciphertext
        // is 684 characters of base64.
        let max_sealed = 4 * (32 + MAX_TEXT_BYTES).div_ceil(3);
        if out.sealed.len() > max_sealed || out.key.len() > 1024 {
            return Err(Error::MessageTooLarge(
                "a direct message holds at most a chat message's text".into(),
            ));
        }
        let state = self.hub.lock();
        let sender = state
            .members
            .get(username)
            .ok_or_else(|| Error::Unauthorized("not logged in".into()))?;
        let recipient = state
            .members
            .get(&out.to)
            .ok_or_else(|| Error::NotFound(format!("{} is not connected", shown(&out.to))))?;
        let relayed = DirectIn {
            from: username.to_string(),
            to: out.to.clone(),
            key: out.key,
            sealed: out.sealed,
            fingerprint: sender.key.as_ref().map(|k| k.fingerprint.clone()),
            sent: envelope.time,
        };
        deliver(&recipient.link, encode(&event("direct", &relayed), b""));
        Ok(Envelope::new("direct-sent", json!({"to": out.to})))
    }

    /// The file actions (see [`crate::chat::transfer`]). A `file-start`
    /// with a `room` or a `user` ([`ShareWith`]) is a file for people:
    /// checked first (a room the sender is in, a user who is connected,
    /// the budgets of the [`Shelf`]), then, once complete, put on the
    /// shelf and offered to them ([`Conversation::offer`]).
    fn file(
        &mut self,
        username: &str,
        action: &str,
        data: &Value,
        attachment: &[u8],
    ) -> Option<Envelope> {
        let error = |e: Error| Some(answer_error(&e));
        match action {
            "file-start" => {
                let parsed = serde_json::from_value::<FileOffer>(data.clone())
                    .map_err(|e| {
                        Error::BadMessage(format!("file-start data is {{\"name\",\"size\"}}: {e}"))
                    })
                    .and_then(|offer| {
                        let to: ShareWith = serde_json::from_value(data.clone()).map_err(|e| {
                            Error::BadMessage(format!(
                                "file-start's \"room\" and \"user\" are names: {e}"
                            ))
                        })?;
                        self.check_recipients(username, &to, offer.size)?;
                        Ok((offer, to))
                    });
                match parsed {
                    Ok((offer, to)) => {
                        self.sharing = (!to.is_server_only()).then_some(to);
                        self.files.start(offer).err().and_then(error)
                    }
                    Err(e) => {
                        self.sharing = None;
                        self.files.refuse();
                        error(e)
                    }
                }
            }
            "file-chunk" => self.files.chunk(attachment).err().and_then(error),
            _ => {
                let sharing = self.sharing.take();
                match serde_json::from_value::<FileEnd>(data.clone()) {
                    Ok(end) => match (self.files.end(end), sharing) {
                        (Ok(Some(info)), None) => {
                            let (name, size) = (&info.name, info.size);
                            log::info!(
                                "{}: {username} sent a file, saved as {name} ({size} bytes)",
                                self.peer
                            );
                            Some(event::<FileInfo>("file-saved", &info))
                        }
                        (Ok(Some(info)), Some(to)) => {
                            self.offer(username, &to, &info).map_or_else(error, Some)
                        }
                        (Ok(None), _) => None,
                        (Err(e), _) => error(e),
                    },
                    Err(e) => {
                        self.files.abort();
                        error(Error::BadMessage(format!("file-end data is {{\"sha256\"}}: {e}")))
                    }
                }
            }
        }
    }

    /// May `username` send a file of `size` bytes to `to`? A room must be
    /// one they are in, a user must be connected, and the file must fit
    /// the shelf's budgets (nothing to check for a file for the server).
    fn check_recipients(&self, username: &str, to: &ShareWith, size: u64) -> Result<()> {
        if to.is_server_only() {
            return Ok(());
        }
        {
            let state = self.hub.lock();
            match (&to.room, &to.user) {
                (Some(_), Some(_)) => {
                    return Err(Error::Usage(
                        "a file goes to a room or to a user, not both".into(),
                    ));
                }
                (Some(room), None) => {
                    let member = state
                        .members
                        .get(username)
                        .ok_or_else(|| Error::Unauthorized("not logged in".into()))?;
                    if !member.rooms.contains(room) {
                        return Err(Error::Forbidden(format!(
                            "you are not in room {}; /join it first",
                            shown(room)
                        )));
                    }
                }
                (None, Some(user)) => {
                    if !state.members.contains_key(user) {
                        return Err(Error::NotFound(format!("{} is not connected", shown(user))));
                    }
                }
                (None, None) => {}
            }
        }
        self.hub.shelf.check_budget(username, size, Utc::now())
    }

    /// A file for people is complete and checked: put it on the shelf, tell
    /// its recipients (`file-offered`: a room's members but the sender, or
    /// the one user), and answer the sender's `file-saved` with the same
    /// description (its id, when it expires). The recipients of a room are
    /// its members at the moment the file is complete.
    ///
    /// The hub is locked twice, briefly: once to read who the recipients
    /// are, once to queue their notices. [`Shelf::put`] runs in between,
    /// with the hub unlocked, because it writes to the disk (the shelf's
    /// index, with an `fsync`) and every other client's messages, logins
    /// and joins need the hub meanwhile. Whoever leaves the room or logs
    /// in in between changes nothing: the notices go to the recipients
    /// read first, to each one still connected (one who left the room is
    /// still told, and may fetch the file; one who joined it is not).
    fn offer(&self, username: &str, to: &ShareWith, saved: &FileInfo) -> Result<Envelope> {
        let readers: BTreeSet<String> = {
            let state = self.hub.lock();
            match (&to.room, &to.user) {
                (Some(room), _) => state.rooms.get(room).cloned().unwrap_or_default(),
                (None, Some(user)) => BTreeSet::from([user.clone()]),
                (None, None) => BTreeSet::new(),
            }
        };
        // No hub lock held here: the disk may take its time.
        let shared = self.hub.shelf.put(saved, username, to, readers.clone(), Utc::now())?;
        // Encoded once, and the same bytes shared by every reader's queue,
        // as in a room's fan-out.
        let offered: Arc<[u8]> = encode(&event("file-offered", &shared), b"").into();
        // The sender of a room's file is not told of it (it has its
        // `file-saved`); a file for one user goes to that user, whoever it is.
        let skip = to.room.as_ref().map(|_| username);
        {
            let state = self.hub.lock();
            for name in readers.iter().filter(|name| Some(name.as_str()) != skip) {
                if let Some(member) = state.members.get(name) {
                    deliver(&member.link, Arc::clone(&offered));
                }
            }
        }
        let whom = match (&to.room, &to.user) {
            (Some(room), _) => format!("#{room}"),
            (None, Some(user)) => format!("@{user}"),
            (None, None) => String::new(),
        };
        let (name, size, id) = (&shared.name, shared.size, &shared.id);
        log::info!(
            "{}: {username} offered {name} ({size} bytes) to {whom} as file {id}",
            self.peer
        );
        Ok(event("file-saved", &shared))
    }

    /// `file-get`: the next piece of a file on the shelf that is for this
    /// user ([`Shelf::part`]); the last piece is logged as fetched.
    fn fetch(&self, username: &str, data: &Value) -> Result<Envelope> {
        let get: FileGet = serde_json::from_value(data.clone()).map_err(|e| {
            Error::BadMessage(format!("file-get data is {{\"id\",\"offset\"}}: {e}"))
        })?;
        let part = self.hub.shelf.part(&get.id, username, get.offset, Utc::now())?;
        if part.size - part.offset <= CHUNK_BYTES as u64 {
            let (name, size, id) = (&part.name, part.size, &part.id);
            log::info!("{}: {username} fetched {name} ({size} bytes, file {id})", self.peer);
        }
        Ok(event("file-part", &part))
    }

    /// A custom action, if a handler is registered for it.
    fn custom(
        &self,
        username: &str,
        action: &str,
        data: &Value,
        attachment: &[u8],
    ) -> Result<Option<Envelope>> {
        let handler =
            self.hub.handlers.read().unwrap_or_else(|e| e.into_inner()).get(action).cloned();
        let Some(handler) = handler else {
            let custom: Vec<String> = self
                .hub
                .handlers
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .keys()
                .cloned()
                .collect();
            return Err(Error::BadMessage(format!(
                "unknown action {}; this server answers login, message, command, CoreClients, CoreKey, direct, file-start, file-chunk, file-end, file-get{}{}",
                shown(action),
                if custom.is_empty() { "" } else { ", " },
                custom.join(", ")
            )));
        };
        let request = Request { username, action, data, attachment };
        handler(&request).map(|data| Some(Envelope::new(action, data)))
    }
}

impl Drop for Conversation<'_> {
    /// A client that leaves (or is cut off) leaves every room.
    fn drop(&mut self) {
        if let Some((username, _)) = &self.login {
            self.hub.lock().remove(username);
        }
    }
}

/// The `error` answer to a request that failed. A failure on the server's
/// side (code 500, such as a file that cannot be written) is logged here in
/// full, with its path; the client is told what failed, not where.
fn answer_error(error: &Error) -> Envelope {
    if error.code() == 500 {
        log::warn!("a request failed on the server's side: {error}");
    }
    Envelope::error(error)
}

/// A name from the network, cut short and quoted, for error messages.
/// Compare two secrets (tokens) in time that does not depend on where
/// they first differ: every byte pair is XORed and the results ORed
/// together, with no early exit, so a guesser timing the answers learns
/// nothing about how many leading characters were right. (Only the length
/// may show, and every token has the same length.) `std::hint::black_box`
/// keeps the compiler from turning the fold back into an early exit.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    difference == 0
}

fn shown(name: &str) -> String {
    format!("{:?}", name.chars().take(32).collect::<String>())
}
