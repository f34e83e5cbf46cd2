// runtimes/builder/requirements.ts: which requirements.txt lines reach pip. Requirement specifiers (as
// pip-compile and pip freeze write them) pass; options, URLs, paths and ${VARS} are refused by line.
import { describe, expect, it } from 'vitest'
import { checkRequirements } from '../../../runtimes/builder/requirements.js'

describe('requirements.txt lines', () => {
  it('accepts names, extras, version specifiers, markers, comments, --hash pins and continuations', () => {
    const text = [
      '# pinned by pip-compile',
      'six==1.16.0',
      'requests[socks,security] >= 2.0, <3 ; python_version >= "3.8" and sys_platform != \'win32\'',
      'flask',
      'Django (>=4.2)',
      'numpy==1.26.4 \\',
      '    --hash=sha256:0123456789abcdef \\',
      '    --hash=sha256:fedcba9876543210',
      'zope.interface~=6.0  # trailing comment',
      'backports.zoneinfo; python_version < "3.9"',
      '',
      '   ',
    ].join('\n')
    expect(checkRequirements(text)).toEqual([])
  })

  it.each([
    '-r /etc/shadow', '--requirement=/etc/shadow', '-c constraints.txt', '--constraint other.txt', '-e .', '--editable git+https://x/y.git',
    '-i https://evil.example/simple', '--index-url https://evil.example/simple', '--extra-index-url=https://evil.example', '-f /tmp/wheels',
    '--find-links ./wheels', '--trusted-host evil.example', '--no-index', '--pre', 'pkg==1.0 --install-option=--prefix=/', 'pkg==1.0 --config-settings x=y',
    'https://evil.example/pkg.whl', 'git+https://github.com/x/y.git', 'pkg @ https://evil.example/pkg.tar.gz', 'pkg @ file:///etc', './local',
    '../up', '/abs/pkg', '.', 'foo-1.0-py3-none-any.whl', 'pkg.tar.gz', '${AWS_SECRET_ACCESS_KEY}', 'pkg==${VERSION}', 'pkg; os.system("x")',
    '--hash=sha256:abc', 'not a requirement at all',
  ])('refuses %j with its line number', (line) => {
    const problems = checkRequirements(`six==1.16.0\n\n${line}\nflask\n`)
    expect(problems.map((p) => [p.file, p.line, p.column])).toEqual([['requirements.txt', 3, 1]])
  })

  it('a continued line is reported at the line it starts on', () => {
    expect(checkRequirements('six\n-r \\\n/etc/shadow\n').map((p) => p.line)).toEqual([2])
  })
})
