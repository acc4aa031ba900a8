#!/bin/sh
# `migrate` of the appconda stand-in: records that this version migrated.
set -eu
version=$(cat /usr/local/share/appconda/version)
mkdir -p /storage/uploads
echo "$version $(date -u +%Y-%m-%dT%H:%M:%SZ)" >> /storage/uploads/migrations.log
echo "appconda $version: migrated"
