# mention-desk: the daemon (and its console) in one image. Build: docker build -t mention-desk .
# Run it against PostgreSQL (see docs/deployment.md):
#   docker run -d --name mention-desk -p 8765:8765 \
#     -e BOT_DATABASE_URL=postgresql+psycopg://desk:SECRET@db.internal/mention_desk \
#     -e BOT_CONSOLE_SECRET=... -e X_BEARER_TOKEN=... \
#     -v /etc/mention-desk/config.yaml:/etc/mention-desk/config.yaml:ro \
#     mention-desk
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_CONFIG=/etc/mention-desk/config.yaml

RUN useradd --system --create-home --home-dir /var/lib/mention-desk --shell /usr/sbin/nologin desk

WORKDIR /opt/mention-desk
# The reply templates, the bundled model and the demo data are read from the project folder at run time,
# so the project is installed in place (editable), as in development.
COPY . .
RUN pip install -e . && python -m compileall -q bot listeners responders
COPY config.yaml /etc/mention-desk/config.yaml

USER desk
WORKDIR /var/lib/mention-desk
# The console listens on console.port; set console.host to 0.0.0.0 in the mounted config to publish it.
EXPOSE 8765
# SIGTERM stops after the step in progress; SIGHUP reloads the config (a bad file is refused, the old one stays).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import json,sys,urllib.request as u; sys.exit(0 if json.load(u.urlopen('http://127.0.0.1:8765/healthz', timeout=4)).get('status') != 'unavailable' else 1)"
CMD ["python", "-m", "bot", "run"]
