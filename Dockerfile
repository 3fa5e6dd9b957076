FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY backend ./backend
COPY addin-manifest ./addin-manifest
RUN pip install --no-cache-dir . && useradd --system --home /app mailbeacon && mkdir -p /var/lib/mailbeacon \
    && chown mailbeacon /var/lib/mailbeacon
USER mailbeacon
ENV MAILBEACON_SPOOL_DIR=/var/lib/mailbeacon/spool
EXPOSE 8025
CMD ["mailbeacon", "serve", "--host", "0.0.0.0", "--port", "8025"]
