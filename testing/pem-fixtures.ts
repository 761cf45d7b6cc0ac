/**
 * PEM fixtures for the unit tests of PEM and CertificateSigningRequest
 * handling: a P-256 request for system:node:n1 in system:nodes, and a
 * self-signed certificate with the same key.
 */

// openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /O=system:nodes/CN=system:node:n1
export const requestPem = `-----BEGIN CERTIFICATE REQUEST-----
MIHrMIGSAgEAMDAxFTATBgNVBAoMDHN5c3RlbTpub2RlczEXMBUGA1UEAwwOc3lz
dGVtOm5vZGU6bjEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAS1AtNfgWccnyOZ
4/KkKghq9ClHYodtqKyvyld8qRmk870p/20uLFEWRbn66oY+SzXwps3XEZMAi7i3
aT7LWz9woAAwCgYIKoZIzj0EAwIDSAAwRQIgW2s6tyB6MAI2p5MCf0lI0Du3mtIK
JmI61fDpfftuxMICIQCcWsM31u6ZwQv2HMU6a+68+zrrf9akYyERPYgo1VLaVw==
-----END CERTIFICATE REQUEST-----
`;
// openssl req -x509 -key (the same key) -subj /CN=test
export const certificatePem = `-----BEGIN CERTIFICATE-----
MIIBcjCCARmgAwIBAgIUE5Gvj8Bg/b2Rl7oXbmJ+kRsLUBQwCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEdGVzdDAeFw0yNjExMjMyMzAyNDhaFw0zNjExMjAyMzAyNDha
MA8xDTALBgNVBAMMBHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAS1AtNf
gWccnyOZ4/KkKghq9ClHYodtqKyvyld8qRmk870p/20uLFEWRbn66oY+SzXwps3X
EZMAi7i3aT7LWz9wo1MwUTAdBgNVHQ4EFgQUdzPIXVEVqm5ielKJF+cjarT03X0w
HwYDVR0jBBgwFoAUdzPIXVEVqm5ielKJF+cjarT03X0wDwYDVR0TAQH/BAUwAwEB
/zAKBggqhkjOPQQDAgNHADBEAiBclvLV/3EckRIhzePES24iK7WYRgzA5RTVxk4s
VIsM4gIgdotAFKNJQgU2kqI7gO7tLImMUb4aTZv7m+x1B1fsU7I=
-----END CERTIFICATE-----
`;
