// An AWS Lambda function behind an API Gateway HTTP API (payload format 2.0), deployed to Kiln unchanged:
//   kiln fn deploy lambda-node --code examples/lambda-node --entrypoint index.handler --shape lambda
'use strict'

exports.handler = async (event, context) => {
  const name = (event.queryStringParameters && event.queryStringParameters.name) || 'world'
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'x-served-by': 'lambda-node' },
    body: JSON.stringify({ message: `Hello, ${name}!`, path: event.rawPath, requestId: context.awsRequestId !== undefined }),
  }
}
