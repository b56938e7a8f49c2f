// An OpenID Connect provider on loopback for ipscope's tests: oauth2-mock-server (discovery, JWKS, authorization
// code with PKCE, token endpoint), plus a control server the tests use to mint tokens with chosen claims and keys,
// rotate keys, and set the claims of the next sign-in. Prints one JSON line: {"issuer": ..., "control": ...}.
import http from 'node:http';
import { createPublicKey } from 'node:crypto';
import { OAuth2Server } from 'oauth2-mock-server';

const provider = new OAuth2Server();
await provider.issuer.keys.generate('RS256', { kid: 'k1' });
let signingKid = 'k1';
// The claims the access token of an authorization-code sign-in gets.
let profile = {};

provider.service.on('beforeTokenSigning', (token, req) => {
  // The id token already has its audience (the client id); the access token gets the profile's.
  if (req.body.grant_type === 'authorization_code' && token.payload.aud === undefined) {
    Object.assign(token.payload, profile);
  }
});

await provider.start(0, '127.0.0.1');

const readJson = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => { try { resolve(body ? JSON.parse(body) : {}); } catch (e) { reject(e); } });
});

const control = http.createServer(async (req, res) => {
  try {
    const input = await readJson(req);
    let answer;
    if (req.url === '/token') {
      const token = await provider.issuer.buildToken({
        kid: input.kid ?? signingKid,
        expiresIn: input.expiresIn ?? 3600,
        scopesOrTransform: (_header, payload) => Object.assign(payload, input.claims ?? {}),
      });
      answer = { token };
    } else if (req.url === '/rotate') {
      const key = await provider.issuer.keys.generate(input.alg ?? 'RS256', { kid: input.kid });
      signingKid = key.kid;
      answer = { kid: key.kid };
    } else if (req.url === '/profile') {
      profile = input.claims ?? {};
      answer = {};
    } else if (req.url === '/public-key-pem') {
      const jwk = provider.issuer.keys.toJSON().find((k) => k.kid === (input.kid ?? 'k1'));
      answer = { pem: createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) };
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
  }
});
control.listen(0, '127.0.0.1', () => {
  const { port } = control.address();
  console.log(JSON.stringify({ issuer: provider.issuer.url, control: `http://127.0.0.1:${port}` }));
});

// Stop with the test that started us.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
