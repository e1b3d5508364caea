# Tarski in a container: `docker build -t tarski .` then
#   docker run --rm -v "$PWD:/work" tarski batch --template infra/ --format sarif --output tarski.sarif
# The build stage makes the same self-contained bundle as scripts/release.sh (binary + solver
# libraries found relative to it); the runtime stage is a slim Debian with just that folder.
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/release.sh --out /opt/tarski

FROM debian:bookworm-slim
COPY --from=build /opt/tarski /opt/tarski
ENV PATH=/opt/tarski/bin:$PATH
WORKDIR /work
ENTRYPOINT ["tarski"]
CMD ["--help"]
