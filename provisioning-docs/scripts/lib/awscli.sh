#!/usr/bin/env bash
# The AWS CLI v2, pinned and signature-checked. Inlined (like lib/common.sh) into the install documents that need
# it; it uses common.sh's helpers.
#
# Ubuntu 24.04 has no awscli package and AWS publishes no apt repository for v2, so the CLI comes as AWS's zip
# bundle. AWS signs each bundle (<bundle>.sig) with the "AWS CLI Team <aws-cli@amazon.com>" key, fingerprint
# FB5D B77F D5C1 18B8 0511 ADA8 A631 0ACC 4672 475C, and publishes that key in the CLI User Guide
# (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html, "Verify the integrity and
# authenticity of the downloaded zip file"). The key is kept here, not fetched: gpgv checks the bundle against this
# keyring only, so a tampered download or a substituted key fails the install. The key block below is the one AWS
# re-published with its validity extended to 2027-07-01 (test/provisioning/awscli-key.test.ts checks fingerprint,
# self-signature and expiry with gpg); when AWS extends it again, replace the block (provisioning-docs/README.md,
# "Bumping a release").
# shellcheck source-path=SCRIPTDIR

# The release installed; a versioned bundle URL keeps every node on the same CLI (AWS CLI User Guide, "Installing a
# specific version").
AWS_CLI_VERSION=2.36.42
AWS_CLI_FINGERPRINT=FB5DB77FD5C118B80511ADA8A6310ACC4672475C

aws_cli_public_key() {
  cat <<'KEY'
-----BEGIN PGP PUBLIC KEY BLOCK-----

mQINBF2Cr7UBEADJZHcgusOJl7ENSyumXh85z0TRV0xJorM2B/JL0kHOyigQluUG
ZMLhENaG0bYatdrKP+3H91lvK050pXwnO/R7fB/FSTouki4ciIx5OuLlnJZIxSzx
PqGl0mkxImLNbGWoi6Lto0LYxqHN2iQtzlwTVmq9733zd3XfcXrZ3+LblHAgEt5G
TfNxEKJ8soPLyWmwDH6HWCnjZ/aIQRBTIQ05uVeEoYxSh6wOai7ss/KveoSNBbYz
gbdzoqI2Y8cgH2nbfgp3DSasaLZEdCSsIsK1u05CinE7k2qZ7KgKAUIcT/cR/grk
C6VwsnDU0OUCideXcQ8WeHutqvgZH1JgKDbznoIzeQHJD238GEu+eKhRHcz8/jeG
94zkcgJOz3KbZGYMiTh277Fvj9zzvZsbMBCedV1BTg3TqgvdX4bdkhf5cH+7NtWO
lrFj6UwAsGukBTAOxC0l/dnSmZhJ7Z1KmEWilro/gOrjtOxqRQutlIqG22TaqoPG
fYVN+en3Zwbt97kcgZDwqbuykNt64oZWc4XKCa3mprEGC3IbJTBFqglXmZ7l9ywG
EEUJYOlb2XrSuPWml39beWdKM8kzr1OjnlOm6+lpTRCBfo0wa9F8YZRhHPAkwKkX
XDeOGpWRj4ohOx0d2GWkyV5xyN14p2tQOCdOODmz80yUTgRpPVQUtOEhXQARAQAB
tCFBV1MgQ0xJIFRlYW0gPGF3cy1jbGlAYW1hem9uLmNvbT6JAlQEEwEIAD4CGwMF
CwkIBwIGFQoJCAsCBBYCAwECHgECF4AWIQT7Xbd/1cEYuAURraimMQrMRnJHXAUC
akV0ygUJDqP4lQAKCRCmMQrMRnJHXFHjD/9eyZLYcKuQOlLvtqSDtUBiEZf6ZZjM
i3ygYH8rJNtuToUH+HvSpe819urJCquXhDrlK6N+aqW0hCLtNABJG/vsafIgvIYJ
hSGgpgtNnQyMV1jViRWqPjbouw8OkYKBThUfT1i2Y+wn58ifs6ODBCmTexWtXspA
Si+Gt49xDOW0APmbOPnI+a4HJW6tVEo6MWS0WjzpiBayR3d1A4pt4YrPfSdDgpLo
h2SLQqlRqvvVZJaWBjhkErNFpfsBA06sDcPEOb0G8LBUbR4WOcdvhe5LubJbZuxC
AG9kNPCVeQP1ixwjgjXKysaxeQ6rv0VzIQgRp6tLVLWhy6AKDNvLjFSsmXZ1Wl08
Y/RlOHXlzLuQMRE6sR1wOdRxc9TsrNWTGiBK65cvSWOy03JeBkQQ8pesqltiyxI9
U21kkgiXtTSKNGfKK8pO27D81YANhRqPK7iTp6kuFiY2WtOg90KTMNlIT+Ff85Y2
b1rHj6Z0SrCkJujhWk3IBPic/wJgz01LEc/OAdUPlby90RJZcIBhSlWhT7mXnXIO
c0HWlNQrns2s3CTyYwZSiSlYe9ApeLwhjDo8NhbFuCAy61l6O5UsR4AfZxx/rGKv
2wFb1/RN/P4gNe6vmxZAPjR0AQcwD3tc2McimOLr/22kmPz8IH3I0X7WoSFr0Biz
E91G7bb0hOb/cA==
=knv7
-----END PGP PUBLIC KEY BLOCK-----
KEY
}

# awscli_version: the installed CLI's version (empty when there is none).
awscli_version() {
  { aws --version 2>/dev/null || true; } | sed -n 's|^aws-cli/\([0-9.]*\) .*|\1|p'
}

# ensure_awscli: AWS CLI $AWS_CLI_VERSION, used to read the deployment's secrets. Downloads the bundle and its
# signature, verifies it with gpgv against the key above, installs (or updates to) it, then checks the version.
ensure_awscli() {
  local bundle url
  if [[ "$(awscli_version)" == "$AWS_CLI_VERSION" ]]; then
    return 0
  fi
  apt_install unzip gpgv
  bundle="awscli-exe-linux-$(uname_arch)-${AWS_CLI_VERSION}.zip"
  url="https://awscli.amazonaws.com/$bundle"
  download "$url" "$CAPI_TMP/$bundle"
  download "$url.sig" "$CAPI_TMP/$bundle.sig"
  aws_cli_public_key | gpg --dearmor >"$CAPI_TMP/aws-cli.gpg"
  gpgv --keyring "$CAPI_TMP/aws-cli.gpg" "$CAPI_TMP/$bundle.sig" "$CAPI_TMP/$bundle" 2>"$CAPI_TMP/gpgv.out" || {
    cat "$CAPI_TMP/gpgv.out" >&2
    die "the signature of $url does not verify with the AWS CLI key $AWS_CLI_FINGERPRINT: not installing it"
  }
  log "verified $bundle (signed by $AWS_CLI_FINGERPRINT)"
  rm -rf "$CAPI_TMP/aws"
  unzip -q -o "$CAPI_TMP/$bundle" -d "$CAPI_TMP"
  "$CAPI_TMP/aws/install" --update
  [[ "$(awscli_version)" == "$AWS_CLI_VERSION" ]] ||
    die "the AWS CLI reports '$(awscli_version)' after installing $AWS_CLI_VERSION"
}
