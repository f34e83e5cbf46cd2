# An AWS Lambda function behind an API Gateway HTTP API (payload format 2.0), deployed to Kiln unchanged:
#   kiln fn deploy lambda-py --runtime python --code examples/lambda-python --entrypoint lambda_function.handler --shape lambda
import json


def handler(event, context):
    name = (event.get('queryStringParameters') or {}).get('name', 'world')
    return {
        'statusCode': 200,
        'headers': {'content-type': 'application/json', 'x-served-by': 'lambda-python'},
        'body': json.dumps({'message': 'Hello, %s!' % name, 'path': event['rawPath'], 'function': context.function_name}),
    }
