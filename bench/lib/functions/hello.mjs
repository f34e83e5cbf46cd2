// The function the router benchmark calls: a short constant text, so the figures measure the path.
export default () => 'hello'
