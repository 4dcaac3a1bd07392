# The one image of the service; compose.yaml runs each process of the `assess` CLI from it.
FROM python:3.11.14-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY application application
COPY infrastructure infrastructure
COPY projections projections
COPY api api
COPY consumers consumers
COPY entrypoints entrypoints
# /var/lib/assess: the projector's volume for the audit log's signing key, owned by assess.
RUN pip install --no-cache-dir . && useradd --system --uid 10001 assess \
    && mkdir -p /var/lib/assess && chown assess /var/lib/assess
# By number: a runtime can tell it is not root without reading the image's /etc/passwd.
USER 10001
EXPOSE 8000
CMD ["assess", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
