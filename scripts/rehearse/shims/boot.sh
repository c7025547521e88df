#!/bin/bash
# Every boot of a rehearsal host: route instance metadata, install the AWS stand-ins an AMI
# would carry, trust the rehearsal's registry CA, and run the user data once, as cloud-init's
# per-instance scripts do (output in /var/log/cloud-init-output.log).
set -euo pipefail
SUPPORT=/opt/rehearsal
# shellcheck source=/dev/null
. "$SUPPORT/environment"   # CONTROL_HOST, CONTROL_PORT, REGISTRY_NAMES

# The VPC resolver: a plain address (not Docker's loopback one), so the containers inside the
# host resolve the load balancer's and registries' names too.
printf 'nameserver %s\n' "$CONTROL_HOST" >/etc/resolv.conf

# IMDS: this host's own requests to 169.254.169.254:80 reach the rehearsal's metadata service.
# Only locally generated traffic is redirected, so containers cannot reach it (hop limit 1).
rule=(-d 169.254.169.254/32 -p tcp --dport 80 -j DNAT --to-destination "$CONTROL_HOST:$CONTROL_PORT")
iptables -t nat -C OUTPUT "${rule[@]}" 2>/dev/null || iptables -t nat -A OUTPUT "${rule[@]}"

install -m 0755 "$SUPPORT/dnf" /usr/bin/dnf
install -m 0755 "$SUPPORT/aws" /usr/bin/aws

for name in $REGISTRY_NAMES; do
  install -D -m 0644 "$SUPPORT/registry-ca.crt" "/etc/docker/certs.d/$name/ca.crt"
done

STATE=/var/lib/cloud/instance
[ -e "$STATE/boot-finished" ] && exit 0
mkdir -p "$STATE/scripts"
token="$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')"
curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/user-data -o "$STATE/scripts/part-001"
chmod 0700 "$STATE/scripts/part-001"
set +e
"$STATE/scripts/part-001" >>/var/log/cloud-init-output.log 2>&1
code=$?
set -e
echo "$code" >"$STATE/user-data-exit-code"
touch "$STATE/boot-finished"
curl -fsS -X POST "http://$CONTROL_HOST:$CONTROL_PORT/rehearsal/user-data-finished?code=$code" >/dev/null || true
