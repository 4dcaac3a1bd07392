// An Open Badges 3.0 verifier outside the service, on jose (npm): it checks a credential's
// signature against the issuer's did:web document and its JWKS, its claims against the
// credential, and its place on the status list (itself a signed credential).
// Usage: node verify.mjs <public URL> <local URL> < credential.jwt
// (the public URL, which the credential names, is fetched from the local one).
// Prints {"verified": true, "revoked": <bool>, "index": <n>}; exits 1 if it does not verify.
import { gunzipSync } from "node:zlib";
import { createRemoteJWKSet, decodeProtectedHeader, importJWK, jwtVerify } from "jose";

const [publicUrl, localUrl] = process.argv.slice(2);
const local = (url) => {
  if (!url.startsWith(publicUrl)) throw new Error(`not the issuer's URL: ${url}`);
  return localUrl + url.slice(publicUrl.length);
};
const fetched = async (url) => {
  const response = await fetch(local(url));
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
};

async function keyOf(token, issuer) {
  const { alg, typ, kid, ...others } = decodeProtectedHeader(token);
  if (alg !== "ES256" || typ !== "JWT" || Object.keys(others).length) {
    throw new Error(`unexpected header ${JSON.stringify(decodeProtectedHeader(token))}`);
  }
  if (!kid.startsWith(`${issuer}#`)) throw new Error(`kid ${kid} is not the issuer's`);
  const did = await (await fetched(`${publicUrl}/.well-known/did.json`)).json();
  if (did.id !== issuer) throw new Error(`the DID document is ${did.id}'s`);
  const method = did.verificationMethod.find((m) => m.id === kid);
  if (!method || !did.assertionMethod.includes(kid)) throw new Error(`no method ${kid}`);
  return importJWK(method.publicKeyJwk, "ES256");
}

async function verified(token, issuer) {
  const { payload } = await jwtVerify(token, await keyOf(token, issuer), {
    algorithms: ["ES256"],
    issuer,
  });
  // The same token against the JWKS, by its key id alone.
  const jwks = createRemoteJWKSet(new URL(local(`${publicUrl}/.well-known/jwks.json`)));
  const kid = decodeProtectedHeader(token).kid.split("#")[1];
  await jwtVerify(token, (header) => jwks({ ...header, kid }), { algorithms: ["ES256"] });
  return payload;
}

const token = (await new Response(process.stdin).text()).trim();
const issuer = `did:web:${new URL(publicUrl).host.replace(":", "%3A")}`;
const credential = await verified(token, issuer);
const claims = [
  [credential.jti, credential.id],
  [credential.sub, credential.credentialSubject.id],
  [credential.iss, credential.issuer.id],
  [credential.nbf, Date.parse(credential.validFrom) / 1000],
];
if (claims.some(([claim, value]) => claim !== value)) throw new Error("claims differ");
if (!credential.type.includes("OpenBadgeCredential")) throw new Error("not an OpenBadgeCredential");

const status = credential.credentialStatus;
const listToken = (await (await fetched(status.statusListCredential)).text()).trim();
const list = await verified(listToken, issuer);
if (!list.type.includes("BitstringStatusListCredential")) throw new Error("not a status list");
if (list.id !== status.statusListCredential) throw new Error(`the list is ${list.id}'s`);
if (list.credentialSubject.statusPurpose !== status.statusPurpose) throw new Error("purpose");
const encoded = list.credentialSubject.encodedList;
if (!encoded.startsWith("u")) throw new Error("not multibase base64url");
const bits = gunzipSync(Buffer.from(encoded.slice(1), "base64url"));
const index = Number(status.statusListIndex);
const revoked = (bits[Math.floor(index / 8)] & (0x80 >> index % 8)) !== 0;
console.log(JSON.stringify({ verified: true, revoked, index }));
