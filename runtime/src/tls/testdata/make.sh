#!/usr/bin/env bash
# Makes the key stores the TLS unit tests read, with the real tools (openssl, Java's keytool), so
# the readers are checked against what Java writes. Certificates run to 2125: the tests only read
# them. Run from this folder; the output is committed.
set -euo pipefail
rm -f ./*.pem ./*.key ./*.jks ./*.p12 ./*.srl ./*.csr
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 36500 -subj "/CN=fixture CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=fixture client" 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 36500 2>/dev/null
openssl pkcs8 -topk8 -in client.key -out client-encrypted.key -passout pass:keypass -v2 aes-256-cbc
keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.jks -storetype JKS -storepass trustpass >/dev/null 2>&1
keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.p12 -storetype PKCS12 -storepass trustpass >/dev/null 2>&1
openssl pkcs12 -export -in client.pem -inkey client.key -certfile ca.pem -name client -out client.p12 -passout pass:keypass
keytool -importkeystore -srckeystore client.p12 -srcstoretype PKCS12 -srcstorepass keypass -destkeystore client.jks \
  -deststoretype JKS -deststorepass storepass -destkeypass keypass >/dev/null 2>&1
rm -f ca.key ca.srl client.csr
