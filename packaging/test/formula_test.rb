# frozen_string_literal: true

# Loads the Homebrew formula written by `make -C packaging formula` with a
# minimal stand-in for Homebrew's Formula DSL (no brew here) and checks it:
# url and sha256 against the `make dist` archive, the license, the
# postgresql@N dependencies; then runs its install method for real (make,
# make install into a scratch prefix) with the PostgreSQL of PG_CONFIG as
# postgresql@15, and with --run-test its test block against that server
# (which loads the library from its own pkglibdir, not from the keg).
#
#   ruby formula_test.rb FORMULA ARCHIVE SRCDIR PG_CONFIG PREFIX [--run-test]
#
# Prints "ok NAME" / "FAILED NAME: why" per check.
require "digest"
require "English"
require "fileutils"
require "pathname"
require "socket"
require "tmpdir"

formula_file, archive, srcdir, pg_config, prefix, run_test = ARGV
abort "usage: ruby formula_test.rb FORMULA ARCHIVE SRCDIR PG_CONFIG PREFIX [--run-test]" if prefix.nil?

# Homebrew adds this to Pathname.
class Pathname
  def append_lines(content)
    File.open(self, "a") { |f| f.puts(content) }
  end
end

# The PostgreSQL formula the test has, as Homebrew's to_formula returns it.
StubPostgresql = Struct.new(:name, :version, :opt_bin)
StubDependency = Struct.new(:to_formula)

# The parts of Homebrew's Formula class that the formula uses.
class Formula
  class << self
    def spec
      @spec ||= { deps: [] }
    end

    %i[desc homepage url sha256 license].each do |m|
      define_method(m) { |value| spec[m] = value }
    end

    def depends_on(arg)
      spec[:deps] << arg
    end

    def test(&block)
      spec[:test] = block
    end

    attr_accessor :prefix, :available
  end

  def deps
    self.class.spec[:deps].filter_map do |d|
      name = d.is_a?(Hash) ? d.keys.first : d
      pg = self.class.available[name]
      StubDependency.new(pg) if pg
    end
  end

  def lib = Pathname(self.class.prefix)/"lib"
  def share = Pathname(self.class.prefix)/"share"
  def testpath = (@testpath ||= Pathname(Dir.mktmpdir("pgt-brew-test")))

  def system(*args)
    Kernel.system(*args.map(&:to_s)) || raise("command failed: #{args.join(" ")}")
  end

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  def shell_output(cmd)
    out = `#{cmd}`
    raise "command failed: #{cmd}" unless $CHILD_STATUS.success?

    out
  end

  def assert_match(expected, actual)
    raise "expected #{expected.inspect} in #{actual.inspect}" unless actual.match?(expected)
  end

  def run_test
    instance_eval(&self.class.spec[:test])
  ensure
    FileUtils.rm_rf(testpath)
  end
end

# Counts the checks: check(NAME) { why-it-failed or nil }.
class Checks
  attr_reader :passed, :failed

  def initialize
    @passed = 0
    @failed = 0
  end

  def check(name)
    why = yield
    if why
      puts "FAILED #{name}: #{why}"
      @failed += 1
    else
      puts "ok #{name}"
      @passed += 1
    end
  rescue StandardError => e
    puts "FAILED #{name}: #{e.message}"
    @failed += 1
  end
end
checks = Checks.new

load formula_file
klass = Object.const_get(:PgTrickle)
spec = klass.spec
bindir = Pathname(`#{pg_config} --bindir`.strip)
pg_version = `#{pg_config} --version`.split[1]
klass.available = { "postgresql@15" => StubPostgresql.new("postgresql@15", pg_version, bindir) }
klass.prefix = prefix
version = File.basename(archive)[/\Apg_trickle-(.+)\.tar\.gz\z/, 1]

checks.check("homebrew url") do
  want = "https://github.com/pg-trickle/pg_trickle/releases/download/v#{version}/#{File.basename(archive)}"
  "url is #{spec[:url]}, not #{want}" unless spec[:url] == want
end
checks.check("homebrew sha256") do
  sum = Digest::SHA256.file(archive).hexdigest
  "sha256 is #{spec[:sha256]}, the archive's is #{sum}" unless spec[:sha256] == sum
end
checks.check("homebrew license") { "license is #{spec[:license]}" unless spec[:license] == "PostgreSQL" }
checks.check("homebrew depends_on") do
  want = (15..18).map { |v| { "postgresql@#{v}" => %i[build test] } }
  "depends_on is #{spec[:deps]}, not #{want}" unless spec[:deps] == want
end
checks.check("homebrew install") do
  Dir.chdir(srcdir) { klass.new.install }
  files = %W[lib/postgresql@15/pg_trickle.so share/postgresql@15/extension/pg_trickle.control
             share/postgresql@15/extension/pg_trickle--#{version}.sql]
  missing = files.reject { |f| File.exist?(File.join(prefix, f)) }
  "not installed into the prefix: #{missing.join(", ")}" unless missing.empty?
end
if run_test == "--run-test"
  checks.check("homebrew test block") do
    klass.new.run_test
    nil
  end
end
puts "#{checks.passed} passed, #{checks.failed} failed"
exit(checks.failed.zero? ? 0 : 1)
