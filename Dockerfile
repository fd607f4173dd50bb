# Virtual Window server. Build: docker build -t virtual-window .
# Run:   docker run -p 8080:8080 -v vw-data:/data -v vw-recordings:/recordings \
#          -e VW_MEDIA_ADDRESSES=<host address> virtual-window
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VW_VAR_DIR=/data \
    VW_DATABASE_URL=sqlite+aiosqlite:////data/virtual-window.db \
    VW_RECORDINGS_DIR=/recordings

WORKDIR /app
COPY pyproject.toml README.md ./
COPY signaling ./signaling
COPY client_web ./client_web
COPY agent_console ./agent_console
COPY shared_web ./shared_web
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home /app vw \
    && mkdir -p /data /recordings && chown vw /data /recordings

# The pages are served from the source tree, not from site-packages.
ENV VW_STATIC_ROOT=/app
USER vw
VOLUME ["/data", "/recordings"]
EXPOSE 8080
HEALTHCHECK CMD python -c "import urllib.request;urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
CMD ["virtual-window", "serve", "--host", "0.0.0.0", "--port", "8080"]
