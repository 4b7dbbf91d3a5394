# luamig in a container: a Debian 12 build stage, then a slim runtime with only the shared libraries it links
# (LuaJIT, libpqxx and SQLite are linked statically; libpq and fmt are shared).
#
#   docker build -t luamig .
#   docker run --rm -v "$PWD:/project" -e DATABASE_URL=postgresql://app:secret@db/app luamig            # upgrade head
#   docker run --rm -v "$PWD:/project" -e DATABASE_URL=... luamig history -v
#
# The project (luamig.lua and migrations/) is mounted at /project, the working directory.

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config \
      libluajit-5.1-dev libpqxx-dev libcli11-dev libfmt-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLUAMIG_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target luamig \
 && strip build/luamig \
 && build/luamig --version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 libfmt9 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /project --no-create-home --shell /usr/sbin/nologin luamig \
 && mkdir /project && chown luamig:luamig /project
COPY --from=build /src/build/luamig /usr/local/bin/luamig
USER luamig
WORKDIR /project
ENTRYPOINT ["luamig"]
CMD ["upgrade", "head"]
