"""The clinic staff's web page (Starlette + Jinja2), mounted beside the JSON API by serving/service.py."""
