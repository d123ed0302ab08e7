FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY partnerhub ./partnerhub
COPY hub ./hub
COPY partner_center ./partner_center
COPY sandbox ./sandbox
RUN pip install .
COPY . .
RUN DJANGO_SETTINGS_MODULE=partnerhub.settings python manage.py collectstatic --noinput
RUN useradd --create-home partnerhub && mkdir -p /app/var && chown -R partnerhub /app/var
USER partnerhub
EXPOSE 8000
CMD ["gunicorn", "partnerhub.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
