def test_health(api):
    assert api.client.get("/health").status_code == 200
