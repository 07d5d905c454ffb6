from django.contrib.auth import views as auth_views
from django.urls import path

from hub.accounts import token_views, views
from hub.throttle import limit_posts

urlpatterns = [
    path("", views.account, name="account"),
    path("login/", limit_posts("login")(auth_views.LoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("verify/resend/", views.resend_verification, name="verify-resend"),
    path("verify/<str:token>/", views.verify_email, name="verify-email"),
    path("tokens/", token_views.tokens, name="api-tokens"),
    path("tokens/<int:token_id>/revoke/", token_views.revoke_token, name="api-token-revoke"),
]
