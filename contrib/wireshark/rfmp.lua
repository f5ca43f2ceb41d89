-- rfmp.lua: a Wireshark dissector for RFMP v1.0 (see SPEC.md).
--
-- RFMP is printable text over TCP: every packet is `(` fields `,` ... `)`
-- with no length prefix; a packet ends at the first `)` (no field may hold
-- a parenthesis). This dissector:
--   * cuts packets out of the TCP stream, asking TCP for more bytes when a
--     packet runs past the end of a segment, and dissecting several
--     packets when one segment holds them (SPEC.md section SYN);
--   * shows the handshake packets SS, CC, EC, SC and the error packet EE,
--     and the frames DP, AK, NK and End (src/link/frames.rs), checking each
--     frame's CRC-32 (zlib's polynomial);
--   * with a key log (the preference "Key log file"), derives the session
--     key from the logged secret and the SC packet's server nonce
--     (HKDF-SHA256, SPEC.md section 14.a.ii-1, written out below), opens
--     the sealed payloads of SC, DP and End: AES-128-EAX (the tag is
--     checked) or the Caesar shift, joins the fragments of a message cut
--     into several DP frames, and shows the JSON envelope of the chat.
--
-- Install: copy this file into Wireshark's personal Lua plugins folder
-- (Help > About Wireshark > Folders), or run
--   tshark -X lua_script:contrib/wireshark/rfmp.lua -r FILE
-- See README.md beside this file.
--
-- THE KEY-LOG FORMAT: a text file, one line per session; `#` starts a
-- comment, blank lines are ignored:
--
--   RFMP_SESSION <client-ip>:<port> <server-ip>:<port> <aes|caesar> <secret hex>
--   RFMP_SESSION 127.0.0.1:49152 127.0.0.1:25565 aes 22ec148010e5aa80fea2d5d3892674a0
--
-- The secret is the session secret of step 10 in hex: 16 bytes for `aes`,
-- one byte for `caesar`. The session key is derived from it and the server
-- nonce that the SC packet carries (steps 14.a.i-ii), so a capture must
-- hold the SC for its frames to open. `rfmp::teach::pcap` writes such a
-- file beside its capture. Whoever holds it reads the session: keep key
-- logs of real sessions as secret as the keys.
--
-- This file runs on Lua 5.2 (Wireshark up to 4.4, with the bit32 library)
-- and on Lua 5.3 and later (native bit operators).

local rfmp = Proto("rfmp", "RFMP (teaching secure chat protocol)")

---------------------------------------------------------------------------
-- Preferences
---------------------------------------------------------------------------
local DEFAULT_PORT = 25565
rfmp.prefs.tcp_port = Pref.uint("TCP port", DEFAULT_PORT, "The server's TCP port (default 25565)")
rfmp.prefs.keylog_file = Pref.string("Key log file", "",
    "Path of an RFMP key log: lines 'RFMP_SESSION <client-ip>:<port> <server-ip>:<port> <aes|caesar> <secret hex>'")

-- The biggest packet we wait for before calling the bytes damage (the
-- 4096-byte cap of src/handshake/framing.rs).
local MAX_PACKET_BYTES = 4096

---------------------------------------------------------------------------
-- Fields
---------------------------------------------------------------------------
local f = {
    type       = ProtoField.string("rfmp.type", "Type"),
    direction  = ProtoField.string("rfmp.direction", "Direction"),
    text       = ProtoField.string("rfmp.text", "Packet"),
    -- SS
    protocol   = ProtoField.string("rfmp.ss.protocol", "Protocol"),
    version    = ProtoField.string("rfmp.ss.version", "Version"),
    encrypted  = ProtoField.string("rfmp.ss.encrypted", "Encrypted flag"),
    -- CC
    server_key     = ProtoField.string("rfmp.cc.key", "Server public key (PEM)"),
    server_key_len = ProtoField.uint32("rfmp.cc.key_len", "Server key size (bytes of PEM)"),
    -- EC
    algorithm      = ProtoField.string("rfmp.ec.algorithm", "Algorithm"),
    secret         = ProtoField.string("rfmp.ec.secret", "Encrypted secret (base64 RSA-OAEP)"),
    secret_len     = ProtoField.uint32("rfmp.ec.secret_len", "Encrypted secret size (bytes)"),
    client_key     = ProtoField.string("rfmp.ec.client_key", "Client public key (PEM)"),
    client_key_len = ProtoField.uint32("rfmp.ec.client_key_len", "Client key size (bytes of PEM)"),
    -- EE
    ee_code        = ProtoField.string("rfmp.ee.code", "Error code"),
    ee_description = ProtoField.string("rfmp.ee.description", "Description"),
    -- frames
    seq        = ProtoField.uint32("rfmp.seq", "Sequence number"),
    index      = ProtoField.uint32("rfmp.index", "Fragment index"),
    count      = ProtoField.uint32("rfmp.count", "Fragment count"),
    next       = ProtoField.uint32("rfmp.next", "Next expected sequence number"),
    payload    = ProtoField.string("rfmp.payload", "Payload (base64)"),
    sealed_len = ProtoField.uint32("rfmp.sealed_len", "Sealed size (bytes)"),
    crc        = ProtoField.string("rfmp.crc", "CRC-32"),
    crc_status = ProtoField.string("rfmp.crc.status", "CRC status"),
    -- sealed payloads
    nonce      = ProtoField.string("rfmp.nonce", "EAX nonce (hex)"),
    tag        = ProtoField.string("rfmp.tag", "EAX tag (hex)"),
    tag_status = ProtoField.string("rfmp.tag.status", "Tag status"),
    plaintext  = ProtoField.string("rfmp.plaintext", "Decrypted"),
    message    = ProtoField.string("rfmp.message", "Reassembled message"),
    confirmation = ProtoField.string("rfmp.sc.confirmation", "Confirmation text"),
    server_nonce = ProtoField.string("rfmp.sc.server_nonce", "Server nonce (hex, step 14.a.i)"),
    session_key  = ProtoField.string("rfmp.sc.session_key", "Session key (hex, HKDF-SHA256 of the logged secret and the nonce)"),
    action     = ProtoField.string("rfmp.action", "Envelope action"),
}
rfmp.fields = {}
for _, field in pairs(f) do
    table.insert(rfmp.fields, field)
end

local ef = {
    crc_bad = ProtoExpert.new("rfmp.crc.bad", "CRC-32 mismatch: the frame was damaged",
        expert.group.CHECKSUM, expert.severity.ERROR),
    tag_bad = ProtoExpert.new("rfmp.tag.bad", "EAX tag mismatch: wrong key, or the frame was changed",
        expert.group.CHECKSUM, expert.severity.ERROR),
    malformed = ProtoExpert.new("rfmp.malformed", "Not a well-formed RFMP packet",
        expert.group.MALFORMED, expert.severity.ERROR),
    no_key = ProtoExpert.new("rfmp.no_key", "Sealed payload: no key-log entry for this session",
        expert.group.DECRYPTION, expert.severity.NOTE),
}
rfmp.experts = { ef.crc_bad, ef.tag_bad, ef.malformed, ef.no_key }

---------------------------------------------------------------------------
-- Bit operations: bit32 on Lua 5.2, native operators on Lua 5.3+
---------------------------------------------------------------------------
local band, bor, bxor, lshift, rshift
if bit32 then
    band, bor, bxor, lshift, rshift = bit32.band, bit32.bor, bit32.bxor, bit32.lshift, bit32.rshift
else
    -- Compiled from strings so that Lua 5.2 never has to parse `~` or `&`.
    band = load("return function(a, b) return a & b end")()
    bor = load("return function(a, b) return a | b end")()
    bxor = load("return function(a, b) return a ~ b end")()
    lshift = load("return function(a, n) return (a << n) & 0xffffffff end")()
    rshift = load("return function(a, n) return (a & 0xffffffff) >> n end")()
end

---------------------------------------------------------------------------
-- Byte strings: Lua strings hold bytes; these helpers convert them.
---------------------------------------------------------------------------
local function to_hex(bytes)
    return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function from_hex(hex)
    if #hex % 2 ~= 0 or hex:find("[^0-9a-fA-F]") then return nil end
    return (hex:gsub("..", function(pair) return string.char(tonumber(pair, 16)) end))
end

-- Standard base64 (RFC 4648, with padding) to bytes; nil if not base64.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, 64 do B64_VALUE[B64:byte(i)] = i - 1 end

local function base64_decode(text)
    if #text % 4 ~= 0 or not text:match("^[A-Za-z0-9+/]*=?=?$") then return nil end
    local out = {}
    for i = 1, #text, 4 do
        local a, b = B64_VALUE[text:byte(i)], B64_VALUE[text:byte(i + 1)]
        local c, d = B64_VALUE[text:byte(i + 2)], B64_VALUE[text:byte(i + 3)]
        local n = lshift(a, 18) + lshift(b, 12) + lshift(c or 0, 6) + (d or 0)
        out[#out + 1] = string.char(rshift(n, 16) % 256)
        if c then out[#out + 1] = string.char(rshift(n, 8) % 256) end
        if d then out[#out + 1] = string.char(n % 256) end
    end
    return table.concat(out)
end

-- Show bytes in a tree as a new data source (a tab under the packet bytes).
local function bytes_tvb(bytes, name)
    return ByteArray.new(to_hex(bytes)):tvb(name)
end

---------------------------------------------------------------------------
-- SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869):
-- the session key of steps 14.a.ii and 15.a.i. Words are 32-bit numbers.
---------------------------------------------------------------------------
local SHA256_K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

local function add32(...)
    local sum = 0
    for _, x in ipairs({ ... }) do sum = (sum + x) % 4294967296 end
    return sum
end

local function rotr(x, n) return bor(rshift(x, n), lshift(x, 32 - n)) end

-- Four bytes, big-endian, of a 32-bit word.
local function word_bytes(w)
    return string.char(rshift(w, 24) % 256, rshift(w, 16) % 256, rshift(w, 8) % 256, w % 256)
end

local function sha256(message)
    local h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
    -- Padding: 0x80, zeros to 56 mod 64, the length in bits (64-bit big-endian).
    local bits = #message * 8
    local padded = message .. "\128" .. string.rep("\0", (55 - #message) % 64)
        .. word_bytes(math.floor(bits / 4294967296)) .. word_bytes(bits % 4294967296)
    for chunk = 1, #padded, 64 do
        local w = {}
        for i = 0, 15 do
            local a, b, c, d = padded:byte(chunk + 4 * i, chunk + 4 * i + 3)
            w[i] = ((a * 256 + b) * 256 + c) * 256 + d
        end
        for i = 16, 63 do
            local s0 = bxor(bxor(rotr(w[i - 15], 7), rotr(w[i - 15], 18)), rshift(w[i - 15], 3))
            local s1 = bxor(bxor(rotr(w[i - 2], 17), rotr(w[i - 2], 19)), rshift(w[i - 2], 10))
            w[i] = add32(w[i - 16], s0, w[i - 7], s1)
        end
        local a, b, c, d, e, f_, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
        for i = 0, 63 do
            local s1 = bxor(bxor(rotr(e, 6), rotr(e, 11)), rotr(e, 25))
            local ch = bxor(band(e, f_), band(0xffffffff - e, g))
            local t1 = add32(hh, s1, ch, SHA256_K[i + 1], w[i])
            local s0 = bxor(bxor(rotr(a, 2), rotr(a, 13)), rotr(a, 22))
            local maj = bxor(bxor(band(a, b), band(a, c)), band(b, c))
            local t2 = add32(s0, maj)
            hh, g, f_, e, d, c, b, a = g, f_, e, add32(d, t1), c, b, a, add32(t1, t2)
        end
        h[1], h[2], h[3], h[4] = add32(h[1], a), add32(h[2], b), add32(h[3], c), add32(h[4], d)
        h[5], h[6], h[7], h[8] = add32(h[5], e), add32(h[6], f_), add32(h[7], g), add32(h[8], hh)
    end
    local out = {}
    for i = 1, 8 do out[i] = word_bytes(h[i]) end
    return table.concat(out)
end

local function xor_bytes(bytes, value)
    return (bytes:gsub(".", function(c) return string.char(bxor(c:byte(), value)) end))
end

local function hmac_sha256(key, message)
    if #key > 64 then key = sha256(key) end
    key = key .. string.rep("\0", 64 - #key)
    return sha256(xor_bytes(key, 0x5c) .. sha256(xor_bytes(key, 0x36) .. message))
end

-- HKDF-SHA256 for at most 32 bytes: extract, then one block of expand.
local function hkdf_sha256(salt, ikm, info, length)
    local prk = hmac_sha256(salt, ikm)
    return hmac_sha256(prk, info .. "\1"):sub(1, length)
end

-- The session key of steps 14.a.ii / 15.a.i (SPEC.md 14.a.ii-1): for aes
-- 16 bytes; for caesar the shift 1 + (one byte mod 255), as a 1-byte string.
local function derive_session_key(cipher, secret, server_nonce)
    if cipher == "aes" then
        return hkdf_sha256(server_nonce, secret, "RFMP v1.0 aes session key", 16)
    end
    local b = hkdf_sha256(server_nonce, secret, "RFMP v1.0 caesar session shift", 1):byte(1)
    return string.char(1 + b % 255)
end

---------------------------------------------------------------------------
-- CRC-32 (zlib, IEEE 802.3): reflected, polynomial 0xEDB88320, init and
-- xor-out 0xFFFFFFFF. crc32("123456789") = cbf43926.
---------------------------------------------------------------------------
local CRC_TABLE = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if band(c, 1) == 1 then c = bxor(0xEDB88320, rshift(c, 1)) else c = rshift(c, 1) end
    end
    CRC_TABLE[i] = c
end

local function crc32(bytes)
    local c = 0xFFFFFFFF
    for i = 1, #bytes do
        c = bxor(CRC_TABLE[band(bxor(c, bytes:byte(i)), 0xFF)], rshift(c, 8))
    end
    return bxor(c, 0xFFFFFFFF)
end
assert(string.format("%08x", crc32("123456789")) == "cbf43926", "rfmp.lua: CRC-32 self-test failed")

---------------------------------------------------------------------------
-- AES-128, encryption only (FIPS-197). This Wireshark's Lua has no cipher
-- bindings (GcryptCipher is not in Wireshark 4.0), and EAX needs only the
-- forward cipher: counter mode encrypts counters, CMAC encrypts blocks.
-- A block is a table of 16 numbers (bytes), index 1 to 16.
---------------------------------------------------------------------------

-- Multiply by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (FIPS-197 4.2.1).
local function xtime(b)
    b = b * 2
    if b >= 256 then b = bxor(b - 256, 0x1b) end
    return b
end

-- The S-box (FIPS-197 5.1.1), computed: the multiplicative inverse in
-- GF(2^8), then the affine transformation. Walking the powers of 3 (a
-- generator) and of its inverse gives every inverse without a search.
local SBOX = {}
do
    local p, q = 1, 1
    repeat
        p = bxor(p, xtime(p))                       -- p := p * 3
        q = bxor(q, lshift(q, 1)); q = bxor(q, lshift(q, 2)); q = bxor(q, lshift(q, 4))
        if band(q, 0x80) ~= 0 then q = bxor(q, 0x09) end
        q = band(q, 0xff)                           -- q := q / 3
        local function rot(x, n) return band(bor(lshift(x, n), rshift(x, 8 - n)), 0xff) end
        SBOX[p] = bxor(bxor(bxor(bxor(bxor(q, rot(q, 1)), rot(q, 2)), rot(q, 3)), rot(q, 4)), 0x63)
    until p == 1
    SBOX[0] = 0x63                                  -- 0 has no inverse
end

-- Key expansion (FIPS-197 5.2): 11 round keys of 16 bytes, as one list.
local function expand_key(key)
    local w = {}
    for i = 1, 16 do w[i] = key:byte(i) end
    local rcon = 1
    for i = 17, 176, 4 do
        local t1, t2, t3, t4 = w[i - 4], w[i - 3], w[i - 2], w[i - 1]
        if (i - 1) % 16 == 0 then
            -- RotWord, SubWord, then the round constant.
            t1, t2, t3, t4 = bxor(SBOX[t2], rcon), SBOX[t3], SBOX[t4], SBOX[t1]
            rcon = xtime(rcon)
        end
        w[i], w[i + 1] = bxor(w[i - 16], t1), bxor(w[i - 15], t2)
        w[i + 2], w[i + 3] = bxor(w[i - 14], t3), bxor(w[i - 13], t4)
    end
    return w
end

-- Encrypt one block (FIPS-197 5.1): a new table of 16 bytes.
local function aes_encrypt(w, block)
    local s = {}
    for i = 1, 16 do s[i] = bxor(block[i], w[i]) end
    for round = 1, 10 do
        -- SubBytes and ShiftRows: byte (row r, column c) is s[4c + r + 1];
        -- row r moves r columns to the left.
        local t = {}
        for c = 0, 3 do
            for r = 0, 3 do
                t[4 * c + r + 1] = SBOX[s[4 * ((c + r) % 4) + r + 1]]
            end
        end
        -- MixColumns (not in the last round).
        if round < 10 then
            for c = 0, 3 do
                local a0, a1, a2, a3 = t[4 * c + 1], t[4 * c + 2], t[4 * c + 3], t[4 * c + 4]
                local all = bxor(bxor(a0, a1), bxor(a2, a3))
                t[4 * c + 1] = bxor(bxor(a0, all), xtime(bxor(a0, a1)))
                t[4 * c + 2] = bxor(bxor(a1, all), xtime(bxor(a1, a2)))
                t[4 * c + 3] = bxor(bxor(a2, all), xtime(bxor(a2, a3)))
                t[4 * c + 4] = bxor(bxor(a3, all), xtime(bxor(a3, a0)))
            end
        end
        -- AddRoundKey.
        for i = 1, 16 do s[i] = bxor(t[i], w[16 * round + i]) end
    end
    return s
end

local function block_of(bytes, from)
    local b = {}
    for i = 1, 16 do b[i] = bytes:byte(from + i - 1) or 0 end
    return b
end

local function string_of(block)
    local chars = {}
    for i = 1, #block do chars[i] = string.char(block[i]) end
    return table.concat(chars)
end

-- The FIPS-197 test vector (Appendix C.1), checked when the file loads:
-- no decryption is attempted if it fails.
local AES_OK = string_of(aes_encrypt(expand_key(from_hex("000102030405060708090a0b0c0d0e0f")),
    block_of(from_hex("00112233445566778899aabbccddeeff"), 1))) ==
    from_hex("69c4e0d86a7b0430d8cdb78070b4c55a")
if not AES_OK then
    print("rfmp.lua: the AES-128 self-test (FIPS-197 C.1) failed: AES decryption is off")
end

---------------------------------------------------------------------------
-- EAX (Bellare, Rogaway, Wagner 2004) over AES-128, as the `eax` crate:
--   N = OMAC0(nonce), H = OMAC1(associated data), C = CTR_N(M),
--   tag = N xor H xor OMAC2(C)
-- where OMACt(X) = CMAC(15 zero bytes, t, X) (RFC 4493 for CMAC).
-- rfmp seals as nonce (16) || tag (16) || ciphertext.
---------------------------------------------------------------------------

-- Doubling in GF(2^128), for the CMAC subkeys (RFC 4493 2.3).
local function double(block)
    local out = {}
    local carry = 0
    for i = 16, 1, -1 do
        local v = block[i] * 2 + carry
        out[i] = v % 256
        carry = v >= 256 and 1 or 0
    end
    if carry == 1 then out[16] = bxor(out[16], 0x87) end
    return out
end

local function xor_into(a, b)
    for i = 1, 16 do a[i] = bxor(a[i], b[i]) end
end

-- CMAC of `bytes` with the tweak block [0 * 15, t] in front (OMAC^t).
local function omac(w, k1, k2, t, bytes)
    local tweak = string.rep("\0", 15) .. string.char(t)
    local data = tweak .. bytes
    local blocks = math.ceil(#data / 16)
    local x = {}
    for i = 1, 16 do x[i] = 0 end
    for n = 1, blocks do
        local from = (n - 1) * 16 + 1
        local m = block_of(data, from)
        if n == blocks then
            local used = #data - from + 1
            if used == 16 then
                xor_into(m, k1)
            else
                m[used + 1] = 0x80 -- pad 10*, then the second subkey
                xor_into(m, k2)
            end
        end
        xor_into(x, m)
        x = aes_encrypt(w, x)
    end
    return x
end

-- Counter mode from the 128-bit big-endian counter `n` (a block).
local function ctr(w, n, bytes)
    local counter = {}
    for i = 1, 16 do counter[i] = n[i] end
    local out = {}
    for from = 1, #bytes, 16 do
        local pad = aes_encrypt(w, counter)
        for i = 0, math.min(15, #bytes - from) do
            out[#out + 1] = string.char(bxor(bytes:byte(from + i), pad[i + 1]))
        end
        for i = 16, 1, -1 do -- increment, carrying to the left
            counter[i] = (counter[i] + 1) % 256
            if counter[i] ~= 0 then break end
        end
    end
    return table.concat(out)
end

-- Open rfmp's sealed bytes: plaintext, nonce, tag, tag_ok; nil if too short.
local function eax_open(key, sealed, aad)
    if #sealed < 32 then return nil end
    local w = expand_key(key)
    local zero = {}
    for i = 1, 16 do zero[i] = 0 end
    local k1 = double(aes_encrypt(w, zero))
    local k2 = double(k1)
    local nonce, tag, ciphertext = sealed:sub(1, 16), sealed:sub(17, 32), sealed:sub(33)
    local n = omac(w, k1, k2, 0, nonce)
    local h = omac(w, k1, k2, 1, aad)
    local c = omac(w, k1, k2, 2, ciphertext)
    xor_into(c, n)
    xor_into(c, h)
    local tag_ok = string_of(c) == tag
    return ctr(w, n, ciphertext), nonce, tag, tag_ok
end

---------------------------------------------------------------------------
-- The key log
---------------------------------------------------------------------------
-- sessions["<client-ip>:<port> <server-ip>:<port>"] = { cipher = "aes" | "caesar", secret = bytes,
--   key = bytes (derived once the SC's server nonce is seen) }
local sessions = {}
local loaded_path = nil
-- unsecured["<client-ip>:<port> <server-ip>:<port>"] = true once its
-- (SS,RFMP,v1.0,0) was seen: its payloads are the plain bytes.
local unsecured = {}

local function load_keylog()
    local path = rfmp.prefs.keylog_file
    if path == loaded_path then return end
    sessions, loaded_path = {}, path
    if path == "" then return end
    local file = io.open(path, "r")
    if not file then
        print("rfmp.lua: cannot open the key log " .. path)
        return
    end
    for line in file:lines() do
        line = line:gsub("#.*", "")
        local client, server, cipher, hex = line:match("^%s*RFMP_SESSION%s+(%S+)%s+(%S+)%s+(%S+)%s+(%x+)%s*$")
        local secret = hex and from_hex(hex)
        if secret and ((cipher == "aes" and #secret == 16) or (cipher == "caesar" and #secret == 1)) then
            sessions[client .. " " .. server] = { cipher = cipher, secret = secret }
        elseif line:find("%S") then
            print("rfmp.lua: key log line not understood: " .. line)
        end
    end
    file:close()
end

-- The session of this packet, and its direction: "C" (client to server)
-- or "S" (server to client). The key log decides; without an entry, the
-- side on the server port is the server.
-- Also returns the connection's name, "<client> <server>".
local function session_of(pinfo)
    local src = tostring(pinfo.src) .. ":" .. pinfo.src_port
    local dst = tostring(pinfo.dst) .. ":" .. pinfo.dst_port
    local forward, backward = src .. " " .. dst, dst .. " " .. src
    if sessions[forward] then return sessions[forward], "C", forward end
    if sessions[backward] then return sessions[backward], "S", backward end
    if pinfo.src_port == rfmp.prefs.tcp_port then return nil, "S", backward end
    return nil, "C", forward
end

---------------------------------------------------------------------------
-- Opening sealed payloads
---------------------------------------------------------------------------

-- The 24 bytes of associated data of a sequenced frame
-- (src/link/frames.rs, associated_data): "RFMP/1.0", the type padded to 3
-- bytes, the direction byte, then seq, index, count as 4-byte big-endian.
local function be32(n)
    return string.char(rshift(n, 24) % 256, rshift(n, 16) % 256, rshift(n, 8) % 256, n % 256)
end

local function associated_data(kind, direction, seq, index, count)
    return "RFMP/1.0" .. (kind .. "   "):sub(1, 3) .. direction .. be32(seq) .. be32(index) .. be32(count)
end

-- Show the opened payload: plaintext text, and for a whole JSON envelope
-- its action and the JSON dissector's tree. Returns the plaintext.
local json_dissector = Dissector.get("json")

-- A whole message: its envelope's action, and the JSON dissector's tree.
local function show_envelope(tvb, text, pinfo, tree)
    local action = text:match('"action"%s*:%s*"([^"]*)"')
    if action then tree:add(f.action, tvb(), action) end
    if json_dissector and text:match("^%s*{") then json_dissector:call(tvb, pinfo, tree) end
end

local function show_plaintext(plain, tree, pinfo, whole_message, range)
    if #plain == 0 then
        tree:add(f.plaintext, range, "")
        return plain
    end
    local tvb = bytes_tvb(plain, "Decrypted RFMP payload")
    tree:add(f.plaintext, tvb(), plain)
    if whole_message then show_envelope(tvb, plain, pinfo, tree) end
    return plain
end

-- The opened fragments of messages cut into several DP frames:
-- fragments["<connection> <direction>"][seq] = plaintext. A message's
-- fragments have consecutive sequence numbers, from seq - index; on its
-- last fragment the message is joined and shown whole.
local fragments = {}

local function join_fragments(plain, connection, direction, seq, index, count, tree, pinfo)
    local key = connection .. " " .. direction
    fragments[key] = fragments[key] or {}
    fragments[key][seq] = plain
    if index ~= count - 1 then return end
    local parts = {}
    for n = 0, count - 1 do
        local part = fragments[key][seq - index + n]
        if not part then return end -- a fragment was not captured or not opened
        parts[n + 1] = part
    end
    local message = table.concat(parts)
    local tvb = bytes_tvb(message, "Reassembled RFMP message")
    tree:add(f.message, tvb(), message)
    show_envelope(tvb, message, pinfo, tree)
end

-- Open `sealed` under the session's cipher with `aad`; add the fields.
local function open_sealed(session, sealed, aad, tree, pinfo, item, whole_message)
    if not session then
        tree:add_proto_expert_info(ef.no_key)
        return nil
    end
    if not session.key then
        tree:add_proto_expert_info(ef.no_key, "no session key: the SC packet with the server nonce was not seen")
        return nil
    end
    if session.cipher == "caesar" then
        local shift = session.key:byte(1)
        local plain = sealed:gsub(".", function(c) return string.char((c:byte() - shift) % 256) end)
        return show_plaintext(plain, tree, pinfo, whole_message, item)
    end
    if not AES_OK then return nil end
    local plain, nonce, tag, tag_ok = eax_open(session.key, sealed, aad)
    if not plain then
        tree:add_proto_expert_info(ef.malformed, "AES-EAX sealed bytes are at least 32 (nonce and tag)")
        return nil
    end
    tree:add(f.nonce, item, to_hex(nonce))
    tree:add(f.tag, item, to_hex(tag))
    local status = tree:add(f.tag_status, item, tag_ok and "good" or "bad")
    if not tag_ok then
        status:add_proto_expert_info(ef.tag_bad)
        return nil -- like the receiver, show nothing of a message that fails
    end
    return show_plaintext(plain, tree, pinfo, whole_message, item)
end

---------------------------------------------------------------------------
-- One packet
---------------------------------------------------------------------------
local function split_fields(text)
    local fields = {}
    for field in (text:sub(2, -2) .. ","):gmatch("([^,]*),") do fields[#fields + 1] = field end
    return fields
end

-- Dissect one whole packet, `range` from `(` to `)`; returns a short
-- summary for the Info column.
local function dissect_packet(range, pinfo, tree)
    local text = range:string()
    local item = tree:add(rfmp, range)
    local fields = split_fields(text)
    local kind = fields[1] or ""
    local session, direction, connection = session_of(pinfo)
    item:add(f.type, range, kind)
    item:add(f.direction, range, direction == "C" and "client to server" or "server to client")
    item:add(f.text, range, text)
    item:append_text(", " .. kind)

    if kind == "SS" and #fields == 4 then
        unsecured[connection] = fields[4] == "0"
        item:add(f.protocol, range, fields[2])
        item:add(f.version, range, fields[3])
        item:add(f.encrypted, range, fields[4] == "1" and "1 (secured)" or fields[4] .. " (unsecured)")
        return "SS " .. (fields[4] == "1" and "secured" or "unsecured")
    elseif kind == "CC" then
        if fields[2] then
            item:add(f.server_key, range, fields[2])
            item:add(f.server_key_len, range, #fields[2])
            return "CC (server key, " .. #fields[2] .. " bytes)"
        end
        return "CC (unsecured)"
    elseif kind == "EC" and #fields == 4 then
        local ciphertext = base64_decode(fields[3])
        item:add(f.algorithm, range, fields[2])
        item:add(f.secret, range, fields[3])
        if ciphertext then item:add(f.secret_len, range, #ciphertext) end
        item:add(f.client_key, range, fields[4])
        item:add(f.client_key_len, range, #fields[4])
        return "EC " .. fields[2]
    elseif kind == "SC" then
        if fields[2] then
            -- (SC,<server nonce>,<sealed>): the key is derived from the
            -- logged secret and this nonce (steps 14.a.i-ii).
            local nonce = base64_decode(fields[2])
            local sealed = fields[3] and base64_decode(fields[3])
            if not nonce or #nonce ~= 32 or not sealed then
                item:add_proto_expert_info(ef.malformed,
                    "a secured SC is (SC,<base64 32-byte server nonce>,<base64 sealed>)")
                return "SC"
            end
            item:add(f.server_nonce, range, to_hex(nonce))
            if session then
                session.key = derive_session_key(session.cipher, session.secret, nonce)
                item:add(f.session_key, range, to_hex(session.key))
            end
            item:add(f.sealed_len, range, #sealed)
            -- The confirmation is sealed with empty associated data
            -- (src/handshake/packets.rs, sc_packet).
            local plain = open_sealed(session, sealed, "", item, pinfo, range, false)
            if plain then item:add(f.confirmation, range, plain) end
            return "SC" .. (plain and (" \"" .. plain .. "\"") or " (sealed)")
        end
        return "SC (unsecured)"
    elseif kind == "EE" then
        item:add(f.ee_code, range, fields[2] or "")
        item:add(f.ee_description, range, table.concat(fields, ",", 3))
        return "EE " .. (fields[2] or "")
    end

    -- A frame: check the CRC-32 of everything up to the last comma.
    local last_comma = text:match(".*(),") -- the position of the last comma
    local crc_field = last_comma and text:sub(last_comma + 1, -2) or ""
    if not last_comma or not crc_field:match("^[0-9a-f]+$") or #crc_field ~= 8 then
        item:add_proto_expert_info(ef.malformed, "a frame ends with an 8-digit hex CRC field")
        return kind .. " (malformed)"
    end
    local crc_good = string.format("%08x", crc32(text:sub(1, last_comma))) == crc_field
    local crc_range = range(last_comma, 8)
    item:add(f.crc, crc_range, crc_field)
    local status = item:add(f.crc_status, crc_range, crc_good and "good" or "bad")
    if not crc_good then
        status:add_proto_expert_info(ef.crc_bad)
        return kind .. " [CRC bad]"
    end
    local frame = split_fields(text:sub(1, last_comma - 1) .. ")")
    if kind == "DP" and #frame == 5 then
        local seq, index, count = tonumber(frame[2]), tonumber(frame[3]), tonumber(frame[4])
        item:add(f.seq, range, seq)
        item:add(f.index, range, index)
        item:add(f.count, range, count)
        item:add(f.payload, range, frame[5])
        local sealed = base64_decode(frame[5])
        if not (seq and index and count and sealed) then
            item:add_proto_expert_info(ef.malformed, "DP numbers are decimal, the payload base64")
            return "DP (malformed)"
        end
        item:add(f.sealed_len, range, #sealed)
        local plain
        if not session and unsecured[connection] then
            -- An unsecured session: the payload is the plain bytes.
            plain = show_plaintext(sealed, item, pinfo, count == 1, range)
        else
            plain = open_sealed(session, sealed, associated_data("DP", direction, seq, index, count),
                item, pinfo, range, count == 1)
        end
        if plain and count > 1 then
            join_fragments(plain, connection, direction, seq, index, count, item, pinfo)
        end
        return string.format("DP seq=%d %d/%d", seq, index + 1, count)
    elseif kind == "AK" and #frame == 2 then
        item:add(f.next, range, tonumber(frame[2]) or 0)
        return "AK next=" .. frame[2]
    elseif kind == "NK" and #frame == 2 then
        item:add(f.seq, range, tonumber(frame[2]) or 0)
        return "NK seq=" .. frame[2]
    elseif kind == "End" and #frame == 3 then
        local seq, sealed = tonumber(frame[2]), base64_decode(frame[3])
        item:add(f.seq, range, seq or 0)
        item:add(f.payload, range, frame[3])
        if seq and sealed and #sealed > 0 then
            open_sealed(session, sealed, associated_data("End", direction, seq, 0, 0),
                item, pinfo, range, false)
        end
        return "End seq=" .. frame[2]
    end
    item:add_proto_expert_info(ef.malformed, "unknown packet type or wrong number of fields")
    return kind .. " (malformed)"
end

---------------------------------------------------------------------------
-- The TCP stream: cut packets, ask for more bytes when one is cut short
---------------------------------------------------------------------------
function rfmp.dissector(tvb, pinfo, tree)
    load_keylog()
    local length = tvb:len()
    local bytes = tvb:raw()
    local offset = 0 -- 0-based, as Tvb ranges are
    local summaries = {}
    while offset < length do
        -- Whitespace between packets is allowed (people type into nc).
        local start = bytes:find("[^%s]", offset + 1)
        if not start then break end
        if bytes:sub(start, start) ~= "(" then
            if #summaries == 0 then return 0 end -- not RFMP: let TCP show the data
            local item = tree:add(rfmp, tvb(start - 1))
            item:add_proto_expert_info(ef.malformed, "a packet starts with (")
            break
        end
        local close = bytes:find(")", start, true)
        if not close then
            if length - (start - 1) >= MAX_PACKET_BYTES then
                local item = tree:add(rfmp, tvb(start - 1))
                item:add_proto_expert_info(ef.malformed, "no ) within 4096 bytes")
                break
            end
            -- The packet continues in the next segment: ask TCP to call us
            -- again with more bytes, from this packet's `(` on.
            pinfo.desegment_offset = start - 1
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            break
        end
        summaries[#summaries + 1] = dissect_packet(tvb(start - 1, close - start + 1), pinfo, tree)
        offset = close
    end
    if #summaries > 0 then
        pinfo.cols.protocol = "RFMP"
        pinfo.cols.info = table.concat(summaries, ", ")
    end
    return length
end

function rfmp.init()
    loaded_path = nil -- read the key log again when a capture is opened
    unsecured = {}
    fragments = {}
end

---------------------------------------------------------------------------
-- Registration: the TCP port, and "Decode As" for any other port
---------------------------------------------------------------------------
local tcp_port_table = DissectorTable.get("tcp.port")
local registered_port = rfmp.prefs.tcp_port
tcp_port_table:add(registered_port, rfmp)
pcall(function() tcp_port_table:add_for_decode_as(rfmp) end)

function rfmp.prefs_changed()
    if registered_port ~= rfmp.prefs.tcp_port then
        tcp_port_table:remove(registered_port, rfmp)
        registered_port = rfmp.prefs.tcp_port
        tcp_port_table:add(registered_port, rfmp)
    end
    loaded_path = nil
end
