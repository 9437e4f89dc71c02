"""The JVM side of the local stack: finding JDK 17 and fetching each service's jars from Maven Central."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from fxtrue.errors import StackError
from fxtrue.settings import PROJECT_ROOT, Settings

LOCAL_DIR = PROJECT_ROOT / "infra" / "local"
SERVICES_WITH_JARS = ("kafka", "cassandra", "spark")
# Only these come from the Spark pom: pip's pyspark already ships Spark, Hadoop and Scala (and the slf4j and
# metrics-core the Cassandra driver uses; its optional native jnr libraries are left out: it falls back to the JDK).
SPARK_CONNECTOR_ARTIFACTS = ("spark-sql-kafka-0-10_2.13", "spark-token-provider-kafka-0-10_2.13",
                             "kafka-clients", "commons-pool2",
                             "java-driver-core-shaded", "java-driver-guava-shaded", "native-protocol", "config",
                             "HdrHistogram", "reactive-streams")
# The streaming job's JVM code (the tick archive), compiled into this jar beside the Spark jars.
STREAMING_JVM_SRC = PROJECT_ROOT / "jobs" / "streaming" / "jvm"
STREAMING_JAR = "fxtrue-streaming.jar"


def java_home(settings: Settings) -> Path:
    """The JDK 17 to run Kafka and Cassandra with; raises StackError naming the fix when unusable."""
    candidates = [settings.stack.java_home] if settings.stack.java_home else [
        "/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk-arm64", "/usr/lib/jvm/java-17-openjdk"]
    for cand in candidates:
        home = Path(cand)
        if (home / "bin" / "java").exists():
            version = java_major_version(home)
            if version != 17:
                raise StackError(f"{home} is Java {version}; Cassandra 5.0 needs Java 17 (it cannot run on 24+)",
                                 hint="set FXTRUE_STACK_JAVA_HOME (or JAVA_HOME) to a JDK 17")
            return home
        if settings.stack.java_home:
            raise StackError(f"JAVA_HOME {home} has no bin/java",
                             hint="set FXTRUE_STACK_JAVA_HOME (or JAVA_HOME) to a JDK 17 install, "
                                  "e.g. /usr/lib/jvm/java-17-openjdk-amd64")
    raise StackError("no JDK 17 found", hint="install openjdk-17-jdk-headless or set FXTRUE_STACK_JAVA_HOME")


def java_major_version(home: Path) -> int:
    out = subprocess.run([str(home / "bin" / "java"), "-version"], capture_output=True, text=True, timeout=30)
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        raise StackError(f"cannot tell the Java version of {home}: {out.stderr.strip()[:200]}")
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def jars_dir(settings: Settings, service: str) -> Path:
    return settings.spark_jars_dir if service == "spark" else settings.lib_dir / service


def _pom(service: str) -> Path:
    return LOCAL_DIR / service / "pom.xml"


def _stamp(service: str) -> str:
    """What the jar folder was made from: the pom, and for Spark the streaming job's Java sources too."""
    h = hashlib.sha256(_pom(service).read_bytes())
    if service == "spark":
        for src in sorted(STREAMING_JVM_SRC.rglob("*.java")):
            h.update(src.relative_to(STREAMING_JVM_SRC).as_posix().encode() + b"\0" + src.read_bytes())
    return h.hexdigest()[:16]


def jars_ready(settings: Settings, service: str) -> bool:
    stamp = jars_dir(settings, service) / ".pom-stamp"
    return stamp.exists() and stamp.read_text().strip() == _stamp(service)


def fetch_jars(settings: Settings, service: str, progress: Callable[[str], None] = print,
               force: bool = False) -> Path:
    """Copy the service's jars from Maven Central (cached in ~/.m2) into <state>/lib/<service>.

    Skipped when the folder already matches the pom. Raises StackError when Maven is missing or fails.
    """
    target = jars_dir(settings, service)
    if jars_ready(settings, service) and not force:
        return target
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError("Maven (mvn) is not on PATH: it fetches the Kafka, Cassandra and Spark jars",
                         hint="install Maven (apt-get install maven) and retry")
    progress(f"fetching {service} jars from Maven Central into {target} (cached in ~/.m2) ...")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [mvn, "-q", "-B", "-f", str(_pom(service)), "dependency:copy-dependencies",
           f"-DoutputDirectory={tmp}"]
    if service == "spark":
        cmd.append("-DincludeArtifactIds=" + ",".join(SPARK_CONNECTOR_ARTIFACTS))
    java = None
    try:
        java = java_home(settings)
    except StackError:
        pass
    env = None
    if java:
        import os
        env = {**os.environ, "JAVA_HOME": str(java)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise StackError(f"Maven could not fetch the {service} jars:\n{tail}",
                         hint="check network access to Maven Central (or a mirror in ~/.m2/settings.xml) "
                              f"and {_pom(service)}")
    if service == "spark":
        build_streaming_jar(java, tmp, progress)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    (target / ".pom-stamp").write_text(_stamp(service))
    progress(f"  {service}: {len(list(target.glob('*.jar')))} jars")
    return target


def build_streaming_jar(java: Path | None, folder: Path, progress: Callable[[str], None] = print) -> Path:
    """Compile the streaming job's Java sources (STREAMING_JVM_SRC) against pyspark's jars and those in
    `folder` (the Cassandra driver) into folder/STREAMING_JAR. Raises StackError when javac is missing or fails."""
    import tempfile
    import zipfile

    import pyspark

    javac = Path(java) / "bin" / "javac" if java else None
    if javac is None or not javac.exists():
        raise StackError("javac (JDK 17) is needed to build the streaming job's tick archive",
                         hint="install openjdk-17-jdk-headless (the JDK, not only the JRE) and retry")
    sources = sorted(str(p) for p in STREAMING_JVM_SRC.rglob("*.java"))
    classpath = f"{Path(pyspark.__file__).parent / 'jars'}/*:{folder}/*"
    progress(f"  compiling {len(sources)} Java source(s) of the streaming job into {STREAMING_JAR} ...")
    with tempfile.TemporaryDirectory() as classes:
        proc = subprocess.run([str(javac), "--release", "17", "-nowarn", "-cp", classpath, "-d", classes, *sources],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise StackError(f"javac failed on {STREAMING_JVM_SRC}:\n{(proc.stdout + proc.stderr).strip()[-2000:]}",
                             hint="the sources must compile against the pinned pyspark and the driver in "
                                  "infra/local/spark/pom.xml")
        jar = folder / STREAMING_JAR
        with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: fxtrue\n\n")
            for f in sorted(Path(classes).rglob("*.class")):
                z.write(f, f.relative_to(classes).as_posix())
    return jar


def require_jars(settings: Settings, service: str, needed: tuple[str, ...]) -> Path:
    """The jar folder of a service, checked to hold the named jar prefixes (clear error if one is missing)."""
    folder = jars_dir(settings, service)
    names = [p.name for p in folder.glob("*.jar")]
    missing = [n for n in needed if not any(name.startswith(n) for name in names)]
    if missing:
        raise StackError(f"missing jar(s) in {folder}: {', '.join(missing)}",
                         hint="run `fxtrue stack fetch --force` to download them again")
    return folder
