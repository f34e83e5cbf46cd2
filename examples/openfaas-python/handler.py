# A function written for OpenFaaS' `python3-http` template, deployed to Kiln unchanged:
#   kiln fn deploy of-py --runtime python --code examples/openfaas-python --shape openfaas
import json


def handle(event, context):
    data = json.loads(event.body) if event.body else {}
    name = event.query.get('name') or data.get('name') or 'world'
    return {
        'statusCode': 200,
        'body': {'message': 'Hello, %s!' % name, 'method': event.method, 'path': event.path},
        'headers': {'x-served-by': 'openfaas-python'},
    }
