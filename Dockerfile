FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# Production settings (DEBUG off, HTTPS, secure cookies); they refuse to start
# without DJANGO_SECRET_KEY, so the image never runs with the public dev key.
ENV DJANGO_SETTINGS_MODULE=partnerhub.settings.production
WORKDIR /app
COPY pyproject.toml ./
COPY partnerhub ./partnerhub
COPY migrations_app ./migrations_app
COPY partner_center ./partner_center
COPY sandbox ./sandbox
RUN pip install .
COPY . .
# Collecting static files needs no secret: the development settings, DEBUG off, with
# a throwaway var/ so the development keys they generate never enter the image.
RUN DJANGO_SETTINGS_MODULE=partnerhub.settings PARTNERHUB_VAR_DIR=/tmp/build-var \
    python manage.py collectstatic --noinput && rm -rf /tmp/build-var
# /app/var is the partnerhub-var volume in docker-compose.yml (the audit checkpoint,
# beat's schedule); an empty volume takes this folder's owner.
RUN useradd --create-home partnerhub && mkdir -p /app/var && chown -R partnerhub /app/var
VOLUME ["/app/var"]
USER partnerhub
EXPOSE 8000
CMD ["gunicorn", "partnerhub.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
