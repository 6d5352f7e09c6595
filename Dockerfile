# The POST image: the `post` command with its dependencies, and nats-server from Debian, so the compose
# lab (docker-compose.yml) runs its NATS cluster, nodes, init and dashboard from this one image.
#
#   docker build -t post-lab .
#   docker run --rm post-lab --help
FROM node:20-bookworm-slim

# nats-server 2.9 from Debian (the version the tests run against); ca-certificates for TLS clients;
# openssl makes the lab's NATS CA and server certificate (`post nats init`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends nats-server ca-certificates openssl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY . .

# The lab's shared volume (identities, lab.json), owned by the unprivileged user that runs everything.
RUN mkdir -p /lab && chown node:node /lab
USER node

ENTRYPOINT ["/app/bin/post"]
CMD ["--help"]
