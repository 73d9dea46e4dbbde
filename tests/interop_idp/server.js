// samlify as a running IdP on loopback, for the browser tests of the example apps:
//   node server.js <port> <sp-metadata.xml> <idp.key> <idp.crt> <write-idp-metadata-to.xml> [content-encryption-URI]
// GET /sso (HTTP-Redirect binding) parses the app's AuthnRequest with samlify and answers with an
// auto-submitting form that POSTs a signed Response (user grace@samlify.example) to the app's ACS.
// GET /slo parses the app's signed LogoutRequest (verified against the signing certificate in the
// SP metadata) and redirects back with a signed LogoutResponse.
'use strict';
const fs = require('fs');
const http = require('http');
const crypto = require('crypto');
const saml = require('samlify');

saml.setSchemaValidator({ validate: () => Promise.resolve('skipped') });
const [port, spMetadata, keyPath, certPath, idpMetadataOut, encryptWith] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const template = '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}"><saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status><saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}"><saml:Issuer>{Issuer}</saml:Issuer><saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{SubjectConfirmationDataNotOnOrAfter}" Recipient="{SubjectRecipient}" InResponseTo="{InResponseTo}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{ConditionsNotBefore}" NotOnOrAfter="{ConditionsNotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{AssertionID}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="FirstName"><saml:AttributeValue xsi:type="xs:string">Grace</saml:AttributeValue></saml:Attribute><saml:Attribute Name="LastName"><saml:AttributeValue xsi:type="xs:string">Samlify</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>';

const sp = saml.ServiceProvider({ metadata: fs.readFileSync(spMetadata), wantLogoutResponseSigned: true });
const idp = saml.IdentityProvider({
  entityID: `${base}/metadata`,
  privateKey: fs.readFileSync(keyPath),
  signingCert: fs.readFileSync(certPath),
  singleSignOnService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${base}/sso` }],
  singleLogoutService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${base}/slo` }],
  wantLogoutRequestSigned: true,
  nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
  requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  loginResponseTemplate: { context: template, attributes: [] },
  // With an algorithm URI, the Assertion is encrypted to the SP metadata's encryption certificate.
  isAssertionEncrypted: Boolean(encryptWith),
  dataEncryptionAlgorithm: encryptWith || undefined,
  keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
});
fs.writeFileSync(idpMetadataOut, idp.getMetadata());

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, base);
    const query = Object.fromEntries(url.searchParams.entries());
    if (url.pathname === '/slo') {
      const octetString = url.search.slice(1).split('&Signature=')[0];
      const parsed = await idp.parseLogoutRequest(sp, 'redirect', { query, octetString });
      const { context } = idp.createLogoutResponse(sp, parsed, 'redirect', query.RelayState || '');
      res.writeHead(302, { location: context });
      res.end();
      return;
    }
    if (url.pathname !== '/sso') { res.writeHead(404); res.end(); return; }
    const parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString: url.search.slice(1).split('&Signature=')[0] });
    const now = new Date();
    const later = new Date(now.getTime() + 5 * 60 * 1000).toISOString();
    const id = '_' + crypto.randomUUID();
    const acs = sp.entityMeta.getAssertionConsumerService('post');
    const values = {
      ID: id, AssertionID: '_' + crypto.randomUUID(), Destination: acs, Audience: sp.entityMeta.getEntityID(),
      SubjectRecipient: acs, Issuer: idp.entityMeta.getEntityID(), IssueInstant: now.toISOString(),
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success', ConditionsNotBefore: now.toISOString(),
      ConditionsNotOnOrAfter: later, SubjectConfirmationDataNotOnOrAfter: later,
      NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', NameID: 'grace@samlify.example',
      InResponseTo: parsed.extract.request.id,
    };
    const replace = (t) => ({ id, context: saml.SamlLib.replaceTagsByValue(t, values) });
    const { context, entityEndpoint } = await idp.createLoginResponse(sp, parsed, 'post', { email: 'grace@samlify.example' }, replace);
    const relay = query.RelayState ? `<input type="hidden" name="RelayState" value="${esc(query.RelayState)}"/>` : '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" action="${esc(entityEndpoint)}"><input type="hidden" name="SAMLResponse" value="${esc(context)}"/>${relay}<noscript><button type="submit">Continue</button></noscript></form></body></html>`);
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`samlify refused the request: ${e}`);
  }
}).listen(Number(port), '127.0.0.1');
