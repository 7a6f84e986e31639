# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000
COPY --from=build /install /usr/local
# An unprivileged user that owns only the data folder (the SQLite default).
RUN useradd --system --uid 10001 --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin backupbot \
    && mkdir -p /app/data && chown backupbot /app/data
WORKDIR /app
# The SQLite default (sqlite:///data/backup-bot.db) keeps its state here.
VOLUME ["/app/data"]
USER 10001
EXPOSE 3000
# python:slim has no curl; the standard library is enough to ask /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
ENTRYPOINT ["backup-bot"]
CMD ["run"]
